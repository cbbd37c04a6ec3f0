// The demo chat: one WebSocket to /ws/chat on the page's own origin (the server's default
// Origin policy accepts only that). Messages are shown as text, never as HTML.
(function () {
  'use strict';
  var state = document.getElementById('state');
  var log = document.getElementById('log');
  var text = document.getElementById('text');
  var send = document.getElementById('send');
  var scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
  var ws = new WebSocket(scheme + location.host + '/ws/chat');

  function show(line) {
    var li = document.createElement('li');
    li.textContent = line;
    log.appendChild(li);
    while (log.children.length > 200) log.removeChild(log.firstChild);
  }
  ws.onopen = function () {
    state.textContent = 'open (' + scheme.slice(0, -3) + ')';
    send.disabled = false;
  };
  ws.onmessage = function (e) { show(String(e.data)); };
  ws.onclose = function (e) {
    state.textContent = 'closed (' + e.code + ')';
    send.disabled = true;
  };
  document.getElementById('say').addEventListener('submit', function (e) {
    e.preventDefault();
    if (text.value && ws.readyState === WebSocket.OPEN) ws.send(text.value);
    text.value = '';
  });
})();
