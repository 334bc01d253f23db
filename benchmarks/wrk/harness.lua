-- What events.lua and recordings.lua share: which batch each request sends, and the record of every
-- answer. Run wrk with as many threads as connections (benchmarks/tracker_load.py does): each thread
-- then has one connection, whose answers come in the order of its requests, so the script knows which
-- request each answer is for and the benchmark can check every id against the database.
--
-- The including script defines PATH, body(owner, number) and counts(response_body) -> new, duplicate.
-- Arguments after `--`: RUN THREADS BASE_MS TOKEN RESEND_EVERY CROSS_EVERY
--   RUN           prefix of every id (one per run, so runs never collide)
--   THREADS       the -t value (cross-thread re-sends need it)
--   BASE_MS       ms since 1970 of the first event (at least 5 h ago: batch N is stamped N * 5 s later,
--                 N counted modulo 3600)
--   RESEND_EVERY  every Nth request sends this thread's previous batch again (0 = never)
--   CROSS_EVERY   every Nth request sends the next thread's batch of the same number, which that
--                 thread sends about now too: duplicates arriving together (0 = never)
-- A batch is a pure function of its key (owner thread, number): a re-send is the original's bytes.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "report.lua")

local threads = {}
local created = 0

function setup(thread)
  thread:set("tid", created)
  created = created + 1
  table.insert(threads, thread)
end

function init(args)
  run, nthreads, base_ms, token = args[1], tonumber(args[2]), tonumber(args[3]), args[4]
  resend_every, cross_every = tonumber(args[5]), tonumber(args[6])
  headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }
  sent, originals = 0, 0
  current = nil -- key of the request on the wire
  answered = {} -- "key status new duplicate", one per answer
  issued = {} -- every key handed to wrk (wrk's first call on thread 0 only checks the script)
end

function request()
  sent = sent + 1
  local owner, number
  if resend_every > 0 and originals > 0 and sent % resend_every == 0 then
    owner, number = tid, originals - 1
  elseif cross_every > 0 and nthreads > 1 and sent % cross_every == 1 then
    owner, number = (tid + 1) % nthreads, originals
  else
    owner, number = tid, originals
    originals = originals + 1
  end
  current = owner .. "." .. number
  issued[#issued + 1] = current
  return wrk.format("POST", PATH, headers, body(owner, number))
end

function response(status, headers, response_body)
  local new, duplicate = counts(response_body)
  answered[#answered + 1] = string.format("%s %d %s %s", current, status, new, duplicate)
  current = nil
end

function done(summary, latency, requests)
  local out = write_report(summary, latency)
  for _, thread in ipairs(threads) do
    for _, line in ipairs(thread:get("answered")) do
      out:write("answered " .. line .. "\n")
    end
    for _, key in ipairs(thread:get("issued")) do
      out:write("issued " .. key .. "\n")
    end
    local open = thread:get("current")
    if open then
      out:write("open " .. open .. "\n")
    end
  end
  out:close()
end
