-- wrk script: HTTP/1.1 pipelining. Each connection sends PIPELINE_DEPTH (default 16) requests
-- for the URL's path in one write, then waits for all the responses before sending the next
-- batch. wrk counts every response, so Requests/sec is responses per second.
--   wrk -t1 -c64 -d10s -s bench/pipeline.lua http://127.0.0.1:PORT/hello.txt
local depth = tonumber(os.getenv("PIPELINE_DEPTH") or "16")

init = function(args)
  local r = {}
  for i = 1, depth do
    r[i] = wrk.format(nil, wrk.path)
  end
  req = table.concat(r)
end

request = function()
  return req
end
