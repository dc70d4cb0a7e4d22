-- wrk script: POST the JSON body in the file named by $BODY (a single-row predict request).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if os.getenv("API_KEY") and os.getenv("API_KEY") ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("API_KEY")
end
local f = assert(io.open(os.getenv("BODY"), "r"))
wrk.body = f:read("*a")
f:close()
