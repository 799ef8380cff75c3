-- GET /bench/noop, the reference: the URL given to wrk is the whole request.
local common = require("common")
setup = common.setup
done = common.done
