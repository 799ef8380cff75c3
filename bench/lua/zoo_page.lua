-- GET /zoos/bench-zoo-N, the zoo's page for people (HTML), cycling through the zoos.
-- Argument: zoos.
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
   return wrk.format("GET", string.format("/zoos/bench-zoo-%d", i % zoos + 1), { ["Accept"] = "text/html" })
end
