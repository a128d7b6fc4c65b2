-- wrk script: device detail (state from the device's actor) over the benchmark devices.
local counter = 0
local devices = tonumber(os.getenv("DEVICES") or "1000")
local token = os.getenv("TOKEN")
local format = os.getenv("DEVICE_FORMAT") or "http-%05d"

request = function()
  counter = counter + 1
  local device = string.format(format, counter % devices)
  return wrk.format("GET", "/api/v1/devices/" .. device, { ["Authorization"] = "Bearer " .. token })
end
