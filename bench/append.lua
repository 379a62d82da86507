-- wrk script: every request appends one StatementMade with one position, under a fresh random id.
-- 95% are dated on the log's present day, 5% on a random earlier day (backdated). Set by bench/writes.py
-- through the environment: BENCH_TOKEN, BENCH_PARTIES and BENCH_ISSUES (comma-separated), BENCH_PRESENT
-- (YYYY-MM-DD) and BENCH_DAYS (how many days before it a backdated event may fall).
local token = os.getenv("BENCH_TOKEN")
local present = os.getenv("BENCH_PRESENT")
local span = tonumber(os.getenv("BENCH_DAYS"))
local parties, issues = {}, {}
for p in string.gmatch(os.getenv("BENCH_PARTIES"), "[^,]+") do parties[#parties + 1] = p end
for i in string.gmatch(os.getenv("BENCH_ISSUES"), "[^,]+") do issues[#issues + 1] = i end
local y, m, d = present:match("(%d+)-(%d+)-(%d+)")
local today = os.time({year = tonumber(y), month = tonumber(m), day = tonumber(d), hour = 12})
local stances = {"supports", "opposes", "conditional", "neutral", "unclear"}
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

function init(args)
  math.randomseed(os.time() * 1000 + (seed or 0))
end

local function uuid4()
  return (string.gsub("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", "[xy]", function(c)
    local v = (c == "x") and math.random(0, 15) or math.random(8, 11)
    return string.format("%x", v)
  end))
end

request = function()
  local day = present
  if math.random() < 0.05 then
    day = os.date("!%Y-%m-%d", today - math.random(1, span) * 86400)
  end
  local party = parties[math.random(#parties)]
  local body = string.format(
    '{"events":[{"type":"StatementMade","id":"%s","occurred":"%s","title":"A statement",' ..
    '"party":"%s","speaker":"A Speaker","role":"Envoy","quote":"We said it.",' ..
    '"positions":[{"party":"%s","issue":"%s","stance":"%s","basis":"stated","summary":"s","quote":"We said it."}],' ..
    '"sources":[{"publisher":"Wire","title":"A report","excerpt":"We said it."}]}]}',
    uuid4(), day, party, party, issues[math.random(#issues)], stances[math.random(#stances)])
  return wrk.format("POST", "/streams/live/events", headers, body)
end

local statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status ~= 201 and (statuses[status] or 0) <= 3 then
    io.stderr:write("status " .. status .. ": " .. body .. "\n")
  end
end
