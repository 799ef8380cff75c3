-- GET /api/v1/events?limit=100&after=<cursor>: pages of 100 from the middle of the feed, the
-- cursor (a position in 12 hex digits) cycling over `pages` pages from position `base`.
-- Arguments (after --): base pages.
local common = require("common")
setup = common.setup
done = common.done

local base, pages
local i = 0

function init(args)
   base = tonumber(args[1])
   pages = tonumber(args[2])
   i = (thread_id or 0) * 7
end

function request()
   i = i + 1
   local after = base + (i % pages) * 100
   return wrk.format("GET", string.format("/api/v1/events?limit=100&after=%012x", after))
end
