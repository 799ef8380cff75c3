-- GET /api/v1/concerns?limit=50, the cross-zoo ranking; the offset cycles through 0-4 (the
-- ranking has no response cache, so this only varies the page).
local common = require("common")
setup = common.setup
done = common.done

local i = 0

function init(args)
   i = thread_id or 0
end

function request()
   i = i + 1
   return wrk.format("GET", string.format("/api/v1/concerns?limit=50&offset=%d", i % 5))
end
