-- POST /api/v1/submissions with no key (the public form's API); zoo_id and animal_id change
-- on every request. Arguments (after --): zoos per_zoo. Animals of zoo z are
-- (z-1)*per_zoo+1 .. z*per_zoo. A submission is moderated before it reaches any list.
local common = require("common")
setup = common.setup
done = common.done

local headers = { ["Content-Type"] = "application/json" }
local zoos, per_zoo
local i = 0

function init(args)
   zoos = tonumber(args[1])
   per_zoo = tonumber(args[2])
   i = (thread_id or 0) * 1000003
end

function request()
   i = i + 1
   local zoo = i % zoos + 1
   local animal = (zoo - 1) * per_zoo + (i * 7919) % per_zoo + 1
   local body = string.format(
      '{"zoo_id": %d, "animal_id": %d, "category": "other", "title": "Bench submission %d", '
         .. '"observed_at": "2020-01-01T12:00:00Z", "reporter_name": "bench"}',
      zoo, animal, i)
   return wrk.format("POST", "/api/v1/submissions", headers, body)
end
