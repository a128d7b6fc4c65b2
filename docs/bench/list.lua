-- wrk script: one device list page with a filter.
local token = os.getenv("TOKEN")

request = function()
  return wrk.format("GET", "/api/v1/devices?kind=solar_inverter&limit=50", { ["Authorization"] = "Bearer " .. token })
end
