-- wrk script: durable configuration changes spread over the registered benchmark devices.
-- Every request changes a key to a new value, so every request appends one event.
local counter = 0
local devices = tonumber(os.getenv("DEVICES") or "1000")
local token = os.getenv("TOKEN")

request = function()
  counter = counter + 1
  local device = string.format("http-%05d", counter % devices)
  local body = string.format('{"changes":{"setpoint_w":%d}}', counter)
  return wrk.format("PUT", "/api/v1/devices/" .. device .. "/configuration",
    { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }, body)
end
