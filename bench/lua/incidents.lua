-- GET /api/v1/incidents filtered by zoo (cycling), open statuses and severity, most severe
-- first. Argument: zoos.
local common = require("common")
setup = common.setup
done = common.done

local zoos
local i = 0

function init(args)
   zoos = tonumber(args[1])
   i = (thread_id or 0) * 7
end

function request()
   i = i + 1
   return wrk.format("GET", string.format(
      "/api/v1/incidents?zoo_id=%d&status=reported&status=confirmed&min_severity=3"
         .. "&sort=severity&limit=50", i % zoos + 1))
end
