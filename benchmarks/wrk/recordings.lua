-- Recording chunks: every request POSTs one 5 s chunk of a recorded session, 12 rrweb mouse-move
-- events (about 1.7 KiB of JSON, like the demo's chunks). A session holds 20 chunks (seq 0..19), one
-- visitor per thread; a re-send is the same (sessionId, seq). See harness.lua.

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "harness.lua")

PATH = "/rest/v1/recordings"

function body(owner, number)
  local start = base_ms + (number % 3600) * 5000
  local events = {}
  for k = 0, 11 do
    local positions = {}
    for p = 0, 9 do
      positions[#positions + 1] = string.format('{"x":%d,"y":%d,"id":%d,"timeOffset":%d}',
        (number * 31 + k * 17 + p * 5) % 1280, (number * 7 + k * 29 + p * 3) % 800, 12 + p, -p * 40)
    end
    events[#events + 1] = string.format(
      '{"type":3,"data":{"source":1,"positions":[%s]},"timestamp":%d}', table.concat(positions, ","),
      start + k * 400)
  end
  return string.format(
    '{"sessionId":"%s-s%d-%d","visitorId":"%s-v%d","url":"https://load.example/p%d","seq":%d,"events":[%s]}',
    run, owner, math.floor(number / 20), run, owner, owner % 40, number % 20, table.concat(events, ","))
end

function counts(response_body)
  local stored = response_body:match('"stored":(%a+)')
  return stored == "true" and 1 or 0, stored == "false" and 1 or 0
end
