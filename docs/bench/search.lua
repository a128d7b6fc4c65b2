-- wrk script: a device name search (`q=`), over varying text.
local counter = 0
local token = os.getenv("TOKEN")

request = function()
  counter = counter + 1
  local text = string.format("device %d", 100 + counter % 900)
  return wrk.format("GET", "/api/v1/devices?q=" .. text:gsub(" ", "%%20") .. "&limit=50", { ["Authorization"] = "Bearer " .. token })
end
