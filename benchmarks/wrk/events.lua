-- Tracker-shaped ingestion: every request POSTs 5 web events (4 clicks and a scroll), as a visitor's
-- tracker sends what 5 s of a visit made: batch N of a connection is stamped 5 s after batch N-1, its
-- clicks 1.1 s apart. A session lasts 10 requests, a visitor 3 sessions; every 20th batch clicks one
-- spot 4 times within half a second (a rage run). Event ids are RUN-OWNER-NUMBER-K (see harness.lua).

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "harness.lua")

PATH = "/rest/v1/events"

local function iso(ms)
  return os.date("!%Y-%m-%dT%H:%M:%S", math.floor(ms / 1000)) .. string.format(".%03dZ", ms % 1000)
end

function body(owner, number)
  local session = string.format("%s-s%d-%d", run, owner, math.floor(number / 10))
  local visitor = string.format("%s-v%d-%d", run, owner, math.floor(number / 30))
  local page = string.format("https://load.example/p%d", (owner * 7 + math.floor(number / 10)) % 40)
  local width = ({ 390, 820, 1280 })[owner % 3 + 1]
  local burst = number % 20 == 0
  local spread, step = burst and 0 or 211, burst and 150 or 1100
  local events = {}
  for k = 0, 4 do
    local head = string.format(
      '{"eventId":"%s-%d-%d-%d","timestamp":"%s","sessionId":"%s","visitorId":"%s","url":"%s",'
        .. '"viewportWidth":%d,"viewportHeight":800,"documentWidth":%d,"documentHeight":4000,',
      run, owner, number, k, iso(base_ms + (number % 3600) * 5000 + k * step), session, visitor, page,
      width, width)
    if k == 4 then
      events[#events + 1] = head .. string.format('"type":"scroll","depth":%d}', (number * 13) % 101)
    else
      local x, y = (number * 37 + k * spread) % width, (number * 53 + k * spread * 3) % 4000
      events[#events + 1] = head .. string.format('"type":"click","x":%d,"y":%d}', x, y)
    end
  end
  return '{"events":[' .. table.concat(events, ",") .. "]}"
end

function counts(response_body)
  return response_body:match('"ingested":(%d+)') or "-", response_body:match('"duplicates":(%d+)') or "-"
end
