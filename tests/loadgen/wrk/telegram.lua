-- wrk script: posts distinct Telegram text updates to POST /webhooks/telegram/{bot_id}, as the
-- Bot API would. Every request carries a new update_id and message_id (unique across wrk's
-- threads), comes from one of CHATS chats in turn and has the binding's secret header.
--
-- Environment: BOT_ID (required), SECRET (the binding's secret_token, required), CHATS (1000).
-- Usage: BOT_ID=… SECRET=… wrk -t2 -c32 -d10s --latency -s telegram.lua http://127.0.0.1:PORT
-- The last line printed is `RESULT key=value …` (latencies in ms), for scripts to read.

local thread_count = 0

function setup(thread)
    thread:set("thread_index", thread_count)
    thread_count = thread_count + 1
end

function init(args)
    local bot_id = os.getenv("BOT_ID") or error("set BOT_ID to the bot's id")
    local secret = os.getenv("SECRET") or error("set SECRET to the binding's secret_token")
    chats = tonumber(os.getenv("CHATS") or "1000")
    path = "/webhooks/telegram/" .. bot_id
    headers = {
        ["Content-Type"] = "application/json",
        ["X-Telegram-Bot-Api-Secret-Token"] = secret,
    }
    sequence = 0
end

-- Update n of this thread: ids are thread_index * 10^8 + n, so threads never collide.
function request()
    sequence = sequence + 1
    local id = thread_index * 100000000 + sequence
    local chat = id % chats + 1
    local body = string.format(
        '{"update_id":%d,"message":{"message_id":%d,"date":1700000000,'
            .. '"chat":{"id":%d,"type":"private","first_name":"Ann"},'
            .. '"from":{"id":%d,"is_bot":false,"first_name":"Ann"},"text":"w%d"}}',
        id, id, chat, chat, id)
    return wrk.format("POST", path, headers, body)
end

function done(summary, latency, requests)
    local errors = summary.errors
    local seconds = summary.duration / 1e6
    io.write(string.format(
        "RESULT requests=%d seconds=%.2f rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f"
            .. " non2xx=%d socket_errors=%d\n",
        summary.requests, seconds, summary.requests / seconds,
        latency:percentile(50) / 1000, latency:percentile(90) / 1000,
        latency:percentile(99) / 1000, latency.max / 1000,
        errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
