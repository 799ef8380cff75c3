-- GET a path that names one zoo, cycling through the zoos. Arguments: zoos, the path with %d
-- for the zoo's number, the Accept header to send ("" for none) and the stride: with 1, %d
-- is the zoo's number; with animals per zoo, it is the zoo's first animal.
local common = require("common")
setup = common.setup
done = common.done

local zoos, path, stride
local headers = {}
local i = 0

function init(args)
   zoos = tonumber(args[1])
   path = args[2]
   if args[3] ~= "" then
      headers["Accept"] = args[3]
   end
   stride = tonumber(args[4] or "1")
   i = (thread_id or 0) * 7
end

function request()
   i = i + 1
   return wrk.format("GET", string.format(path, (i % zoos) * stride + 1), headers)
end
