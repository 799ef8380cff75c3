-- POST /api/v1/reports with a reporter key; zoo_id and animal_id change on every request.
-- Arguments (after --): zoos per_zoo key. Animals of zoo z are (z-1)*per_zoo+1 .. z*per_zoo.
-- Severity stays 1-3, observed_at is in 2020 and the category is never human_interaction, so
-- the new incidents raise no concern flags and later runs see the same concern lists.
local common = require("common")
setup = common.setup
done = common.done

local categories = {
   "nutrition", "environment", "health", "behaviour", "transport", "mortality", "other",
}
local zoos, per_zoo, headers
local i = 0

function init(args)
   zoos = tonumber(args[1])
   per_zoo = tonumber(args[2])
   headers = {
      ["Authorization"] = "Bearer " .. args[3],
      ["Content-Type"] = "application/json",
   }
   i = (thread_id or 0) * 1000003
end

function request()
   i = i + 1
   local zoo = i % zoos + 1
   local animal = (zoo - 1) * per_zoo + (i * 7919) % per_zoo + 1
   local body = string.format(
      '{"zoo_id": %d, "animal_id": %d, "category": "%s", "severity": %d, '
         .. '"title": "Bench report %d", "observed_at": "2020-01-01T12:00:00Z", '
         .. '"reporter_name": "bench"}',
      zoo, animal, categories[i % #categories + 1], i % 3 + 1, i)
   return wrk.format("POST", "/api/v1/reports", headers, body)
end
