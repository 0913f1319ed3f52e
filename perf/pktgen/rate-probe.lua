-- SPDX-License-Identifier: BSD-3-Clause
--
-- rate-probe.lua - Pktgen-DPDK Lua script: step the send rate, hold each
-- step for a fixed time, and write what went out, what came back and what
-- petreld counted to a CSV file.
--
-- What it is for: finding the rate at which petreld stops keeping up.
-- Two kinds of traffic, both from a range of source addresses and ports:
--   syn  SYNs to the MQTT port. Each is answered by a SYN-ACK (from the
--        backlog, then with a SYN cookie), so "received" (what pktgen's
--        port got back) should equal "sent"; rx/tx below 1 means petreld,
--        the link or pktgen's own receive side lost something, and
--        petreld's counters in the same row tell which. Slightly above 1
--        at low rates is normal: SYN-ACK retransmissions of the half-open
--        connections.
--   udp  UDP to the MQTT port. petreld drops every one
--        (drops.ip_proto_unsupported) without answering, so compare
--        pktgen_tx with petrel_rx_pkts: the receive path alone.
-- Not ICMP: pktgen 24.07.x builds its ICMP packets with the ICMP header 8
-- bytes too far and an uncomplemented checksum (app/pktgen.c), so petreld
-- rightly drops every one as icmp_bad_checksum (junk.pkt uses that).
-- What it is not: RFC 2544. There is no binary search and no loss
-- threshold; read the CSV.
--
-- Run:   pktgen [EAL args] -- -m "1.0" -f perf/pktgen/rate-probe.lua
-- pktgen's Lua API (app/lpktgenlib.c in Pktgen-DPDK) has no call for TCP
-- flags, so they are set by a small command file the script writes and
-- runs with pktgen.run("cmd", path, "").
--
-- Environment overrides (optional): PT_PROBE_CSV, PT_PROBE_RATES ("0.01 0.1
-- 1"), PT_PROBE_STEP_MS, PT_PROBE_TRAFFIC (syn|udp), PT_PETRELCTL (the
-- command that prints `stats --json`; empty: do not ask petreld),
-- PT_PROBE_QUIT (1: quit pktgen when done, for unattended runs).

-- ---------------------------------------------------------------- parameters
local P = {
    port       = "0",                  -- pktgen port (the -m mapping's port)
    traffic    = "syn",                -- "syn" or "udp" (see above)
    dst_mac    = "02:00:00:00:00:02",  -- petreld's MAC
    src_mac    = "02:00:00:00:00:01",  -- ours (range mode writes it)
    dst_ip     = "10.99.0.2",          -- petreld's net.ip, no prefix
    src_ip     = "10.99.0.10",         -- first source address
    src_ip_max = "10.99.0.250",        -- last source address
    dst_port   = 1883,                 -- petreld's mqtt.port
    sport_min  = 1024,
    sport_max  = 65535,
    size       = 64,                   -- frame size with CRC, as pktgen counts it
    -- Percent of the link speed pktgen sees. memif reports 100 Gb/s, where
    -- 1 % of 64-byte frames is 1.49 Mpps: the small steps matter there. On
    -- a 10 Gb/s NIC 1 % is 149 kpps.
    rates      = { 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10, 25, 50, 100 },
    step_ms    = 3000,                 -- sending time per step
    settle_ms  = 1500,                 -- pause after a step (answers arrive,
                                       -- pktgen refreshes its counters once a second)
    csv        = "rate-probe.csv",     -- written in pktgen's working directory
    petrelctl  = "petrelctl --json stats",  -- add --name/--socket as needed
    quit       = false,                -- quit pktgen at the end
}
-- ------------------------------------------------------------ end parameters

-- pktgen's own printf lives in Pktgen.lua, which is not on the default path.
local function printf(...)
    io.write(string.format(...))
    io.flush()
end

local function env_override()
    local v = os.getenv("PT_PROBE_CSV")
    if v and v ~= "" then P.csv = v end
    v = os.getenv("PT_PROBE_RATES")
    if v and v ~= "" then
        local r = {}
        for w in v:gmatch("[^%s,]+") do
            local n = tonumber(w)
            if n == nil or n <= 0 or n > 100 then
                error("PT_PROBE_RATES: not a percentage in (0, 100]: " .. w)
            end
            r[#r + 1] = n
        end
        P.rates = r
    end
    v = tonumber(os.getenv("PT_PROBE_STEP_MS") or "")
    if v and v >= 100 then P.step_ms = math.floor(v) end
    v = os.getenv("PT_PROBE_TRAFFIC")
    if v == "syn" or v == "udp" then P.traffic = v end
    v = os.getenv("PT_PETRELCTL")
    if v ~= nil then P.petrelctl = v end
    if os.getenv("PT_PROBE_QUIT") == "1" then P.quit = true end
end

-- petreld's answer to `stats --json` is one JSON line. Lua has no JSON
-- parser, and the fields wanted are plain numbers with unique names inside
-- "total", so they are picked out with patterns. Every number inside a
-- "drops" object (net drops and TCP drops) is summed into drops.
-- Returns nil when petrelctl is off or gives no usable answer; the CSV
-- then has empty petrel_* cells.
local function petrel_stats()
    if P.petrelctl == "" then return nil end
    local f = io.popen(P.petrelctl .. " 2>/dev/null")
    if f == nil then return nil end
    local line = f:read("a")
    f:close()
    if line == nil then return nil end
    local at = line:find('"total":', 1, true)
    if at == nil then return nil end
    local total = line:sub(at)
    local s = {}
    for _, k in ipairs({ "rx_pkts", "tx_pkts", "syncookies_sent", "conns_in_use" }) do
        s[k] = tonumber(total:match('"' .. k .. '":(%d+)')) or 0
    end
    s.drops = 0
    for obj in total:gmatch('"drops":(%b{})') do
        for n in obj:gmatch(':(%d+)') do s.drops = s.drops + tonumber(n) end
    end
    return s
end

local function port_counts()
    local st = pktgen.portStats(P.port, "port")[tonumber(P.port)]
    return st.opackets, st.ipackets
end

local function setup_range()
    local p = P.port
    pktgen.range.set_type(p, "ipv4")
    pktgen.range.ip_proto(p, P.traffic == "udp" and "udp" or "tcp")
    for _, w in ipairs({ "start", "min", "max" }) do
        pktgen.range.dst_mac(p, w, P.dst_mac)
        pktgen.range.src_mac(p, w, P.src_mac)
        pktgen.range.dst_ip(p, w, P.dst_ip)
        pktgen.range.dst_port(p, w, P.dst_port)
        pktgen.range.ttl(p, w, 64)
        pktgen.range.pkt_size(p, w, P.size)
    end
    pktgen.range.dst_mac(p, "inc", "00:00:00:00:00:00")
    pktgen.range.src_mac(p, "inc", "00:00:00:00:00:00")
    pktgen.range.dst_ip(p, "inc", "0.0.0.0")
    pktgen.range.dst_port(p, "inc", 0)
    pktgen.range.ttl(p, "inc", 0)
    pktgen.range.pkt_size(p, "inc", 0)
    pktgen.range.src_ip(p, "start", P.src_ip)
    pktgen.range.src_ip(p, "min", P.src_ip)
    pktgen.range.src_ip(p, "max", P.src_ip_max)
    pktgen.range.src_ip(p, "inc", "0.0.0.1")
    pktgen.range.src_port(p, "start", P.sport_min)
    pktgen.range.src_port(p, "min", P.sport_min)
    pktgen.range.src_port(p, "max", P.sport_max)
    pktgen.range.src_port(p, "inc", 1)

    -- TCP flags and sequence numbers have no Lua call: a command file.
    -- (Harmless for udp: they only go into TCP headers.)
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write("range " .. p .. " tcp flag clr all\n")
    f:write("range " .. p .. " tcp flag set syn\n")
    f:write("range " .. p .. " tcp seq 1000 0 2000000000 7919\n")
    f:close()
    -- 24.07.x checks for three arguments although it reads two.
    pktgen.run("cmd", path, "")
    os.remove(path)
    pktgen.set_range(p, "on")
end

local function delta(a, b, k)
    if a == nil or b == nil then return "" end
    return tostring(b[k] - a[k])
end

local function main()
    env_override()
    local p = P.port
    pktgen.stop(p)
    pktgen.set(p, "count", 0)
    setup_range()

    local csv = assert(io.open(P.csv, "w"))
    csv:write("traffic,rate_pct,step_ms,pktgen_tx,pktgen_rx,pktgen_tx_pps,rx_over_tx,"
              .. "petrel_rx_pkts,petrel_tx_pkts,petrel_syncookies,petrel_drops,"
              .. "petrel_conns_in_use\n")
    csv:flush()
    printf("rate-probe: %s, %d steps of %d ms, CSV %s\n",
           P.traffic, #P.rates, P.step_ms, P.csv)

    for _, rate in ipairs(P.rates) do
        pktgen.set(p, "rate", rate)
        local tx0, rx0 = port_counts()
        local s0 = petrel_stats()
        pktgen.start(p)
        pktgen.delay(P.step_ms)
        pktgen.stop(p)
        pktgen.delay(P.settle_ms)
        local tx1, rx1 = port_counts()
        local s1 = petrel_stats()

        local tx, rx = tx1 - tx0, rx1 - rx0
        local ratio = (tx > 0) and string.format("%.4f", rx / tx) or ""
        local pps = math.floor(tx * 1000 / P.step_ms)
        csv:write(string.format("%s,%s,%d,%d,%d,%d,%s,%s,%s,%s,%s,%s\n",
            P.traffic, tostring(rate), P.step_ms, tx, rx, pps, ratio,
            delta(s0, s1, "rx_pkts"), delta(s0, s1, "tx_pkts"),
            delta(s0, s1, "syncookies_sent"), delta(s0, s1, "drops"),
            s1 and tostring(s1.conns_in_use) or ""))
        csv:flush()
        printf("rate-probe: %s%% tx %d rx %d (%d pps)\n", tostring(rate), tx, rx, pps)
    end
    csv:close()
    printf("rate-probe: done, %s\n", P.csv)
    if P.quit then pktgen.quit() end
end

main()
