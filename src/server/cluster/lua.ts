/**
 * The Lua scripts that make every room operation one atomic step in Redis.
 *
 * Room scripts take `KEYS[1]` = the room's hash (`sr:{r:<tag>}:room`) and
 * reach the room's other keys by the same prefix: every key of a room
 * shares its hash tag, so they live in one slot (Redis Cluster). Their
 * `ARGV[1..3]` are the replay window's bounds and the channel prefix; the
 * operation's own arguments follow. Time comes from the server (`TIME`),
 * never from a node's clock.
 *
 * A member is a hash `m:<peer>`: `info` (JSON of what others see), `tok`
 * (SHA-256 of its resume token), `seq` (last frame numbered for it),
 * `floor` (oldest `seq` still replayable), `bytes` (held in its window),
 * `recv` (frames read from it), `node` (the node holding its socket, '' when
 * parked), `gen` (its seat generation), `until` (end of its grace period in
 * ms, 0 when attached). Its replay window is the stream `o:<peer>` with
 * entry ids `<seq>-1`. Members in join order are the sorted set `order`.
 *
 * A frame for a member with a socket is also published to the channel of
 * the node holding it: `d\n<peer>\n<gen>\n<seq>\n<frame>`; a member taken
 * over by a resume: `r\n<peer>\n<gen>`.
 */

const PRELUDE = `
local room = KEYS[1]
local prefix = string.sub(room, 1, -5)
local order = prefix .. 'order'
local MAXF = tonumber(ARGV[1])
local MAXB = tonumber(ARGV[2])
local CH = ARGV[3]
local function mk(p) return prefix .. 'm:' .. p end
local function ok_(p) return prefix .. 'o:' .. p end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function int(x) return string.format('%.0f', x) end
local function seated(p, gen)
  local g = redis.call('HGET', mk(p), 'gen')
  return g ~= false and g == gen
end
-- Numbers a frame for member p, keeps it in its window (bounded by count
-- and bytes: past either the oldest go), and publishes it to the node
-- holding p's socket unless it is the caller's own (returned instead).
local function push(p, frame, publish)
  local m = mk(p)
  local o = ok_(p)
  local seq = redis.call('HINCRBY', m, 'seq', 1)
  redis.call('XADD', o, seq .. '-1', 'f', frame)
  local bytes = redis.call('HINCRBY', m, 'bytes', #frame)
  local count = redis.call('XLEN', o)
  if count > MAXF or bytes > MAXB then
    local floor = tonumber(redis.call('HGET', m, 'floor'))
    while count > 0 and (count > MAXF or bytes > MAXB) do
      local e = redis.call('XRANGE', o, '-', '+', 'COUNT', 1)[1]
      redis.call('XDEL', o, e[1])
      bytes = bytes - #e[2][2]
      count = count - 1
      floor = tonumber(string.match(e[1], '^(%d+)')) + 1
    end
    redis.call('HSET', m, 'bytes', bytes, 'floor', floor)
  end
  if publish then
    local node = redis.call('HGET', m, 'node')
    if node and node ~= '' then
      redis.call('PUBLISH', CH .. node,
        'd\\n' .. p .. '\\n' .. redis.call('HGET', m, 'gen') .. '\\n' .. seq .. '\\n' .. frame)
    end
  end
  return seq
end
-- Forgets frames up to and including seq (acknowledged).
local function trim(p, upto)
  local m = mk(p)
  local o = ok_(p)
  local es = redis.call('XRANGE', o, '-', upto .. '-1')
  if #es > 0 then
    local bytes = tonumber(redis.call('HGET', m, 'bytes'))
    for _, e in ipairs(es) do
      bytes = bytes - #e[2][2]
      redis.call('XDEL', o, e[1])
    end
    redis.call('HSET', m, 'bytes', bytes)
  end
  if upto + 1 > tonumber(redis.call('HGET', m, 'floor')) then
    redis.call('HSET', m, 'floor', upto + 1)
  end
end
-- The number of the room's next webhook event, and the room's sid: events
-- are numbered per room (room-started is 1), so a receiver fed by several
-- nodes can put them back in order.
local function ev()
  return redis.call('HINCRBY', room, 'ev', 1), redis.call('HGET', room, 'sid') or ''
end
-- Takes p out of the room and announces frame to the rest. Its window is
-- kept a minute, for a kicked socket that still has a gap to fill.
-- Returns (room deleted 0/1, was parked 0/1, its node, its peer-left's
-- event number, the room's sid); room-finished, if deleted, is the next number.
local function remove(p, frame)
  local m = mk(p)
  local parked = redis.call('HGET', m, 'until')
  local node = redis.call('HGET', m, 'node') or ''
  local e, sid = ev()
  redis.call('ZREM', order, p)
  redis.call('DEL', m)
  redis.call('PEXPIRE', ok_(p), 60000)
  local rest = redis.call('ZRANGE', order, 0, -1)
  for _, q in ipairs(rest) do push(q, frame, true) end
  local deleted = 0
  if #rest == 0 then
    redis.call('DEL', room)
    deleted = 1
  end
  local was = 0
  if parked and parked ~= '0' then was = 1 end
  return deleted, was, node, e, sid
end
local function infos(out, except)
  for _, q in ipairs(redis.call('ZRANGE', order, 0, -1)) do
    if q ~= except then out[#out + 1] = redis.call('HGET', mk(q), 'info') end
  end
  return out
end
`;

/**
 * ARGV[4..]: peer, info, tokenHash, capacity, ignoreLock, node, peerJoined,
 * readyOthers, readySelf, roomId, peerLeft, raiseCapacity, sid (the room's,
 * if this join creates it). ok: {'ok', gen, locked, created, own seq,
 * peer-joined's event number, sid, others' infos...}
 */
export const JOIN = `${PRELUDE}
local peer, info, tok, cap, ignore, node = ARGV[4], ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[8] == '1', ARGV[9]
local locked = redis.call('HGET', room, 'locked')
if locked == '1' and not ignore then return {'locked'} end
local created = 0
local c = redis.call('HGET', room, 'cap')
if not c then
  if cap < 1 then return {'full'} end
  redis.call('HSET', room, 'cap', cap, 'locked', '0', 'id', ARGV[13], 'next', 0, 'sid', ARGV[16], 'ev', 0)
  c = cap
  created = 1
else
  c = tonumber(c)
  if ARGV[15] == '1' and cap > c then
    redis.call('HSET', room, 'cap', cap)
    c = cap
  end
end
if redis.call('ZSCORE', order, peer) then remove(peer, ARGV[14]) end
local others = redis.call('ZRANGE', order, 0, -1)
if #others >= c then return {'full'} end
redis.call('ZADD', order, redis.call('HINCRBY', room, 'next', 1), peer)
local m = mk(peer)
redis.call('DEL', m, ok_(peer))
local gen = int(now_us())
redis.call('HSET', m, 'info', info, 'tok', tok, 'seq', 1, 'floor', 2, 'bytes', 0, 'recv', 0,
  'node', node, 'gen', gen, 'until', 0)
for _, q in ipairs(others) do push(q, ARGV[10], true) end
local own = 0
if #others == 1 then
  push(others[1], ARGV[11], true)
  own = push(peer, ARGV[12], false)
end
local isLocked = 0
if locked == '1' then isLocked = 1 end
-- room-started, when created, takes the number before peer-joined's.
if created == 1 then ev() end
local e, sid = ev()
local out = {'ok', gen, isLocked, created, own, e, sid}
for _, q in ipairs(others) do out[#out + 1] = redis.call('HGET', mk(q), 'info') end
return out
`;

/** ARGV[4..]: peer, gen, received, peerLeft. */
export const LEAVE = `${PRELUDE}
local peer, gen = ARGV[4], ARGV[5]
if not seated(peer, gen) then return {'stale'} end
local deleted, was, _, e, sid = remove(peer, ARGV[7])
return {'ok', deleted, was, e, sid}
`;

/** ARGV[4..]: peer, gen, received, peerLeft, graceMs. */
export const DROP = `${PRELUDE}
local peer, gen, grace = ARGV[4], ARGV[5], tonumber(ARGV[8])
if not seated(peer, gen) then return {'stale'} end
local m = mk(peer)
redis.call('HSET', m, 'recv', ARGV[6])
if grace == 0 then
  local deleted, was, _, e, sid = remove(peer, ARGV[7])
  return {'left', deleted, was, e, sid}
end
local was = redis.call('HGET', m, 'until')
local untilMs = now_ms() + grace
redis.call('HSET', m, 'node', '', 'until', untilMs)
redis.call('PEXPIRE', ok_(peer), grace + 60000)
local again = 0
if was ~= '0' then again = 1 end
return {'parked', untilMs, again}
`;

/** ARGV[4..]: peer, gen, received, frame, to ('' for everyone). */
export const RELAY = `${PRELUDE}
local peer, gen, frame, to = ARGV[4], ARGV[5], ARGV[7], ARGV[8]
if not seated(peer, gen) then return 'not-in-room' end
redis.call('HSET', mk(peer), 'recv', ARGV[6])
if to ~= '' then
  if to == peer or not redis.call('ZSCORE', order, to) then return 'unknown-peer' end
  push(to, frame, true)
  return 'ok'
end
for _, q in ipairs(redis.call('ZRANGE', order, 0, -1)) do
  if q ~= peer then push(q, frame, true) end
end
return 'ok'
`;

/** ARGV[4..]: peer, gen, received, frame. Returns the frame's seq, or 0 when stale. */
export const REPLY = `${PRELUDE}
local peer, gen = ARGV[4], ARGV[5]
if not seated(peer, gen) then return 0 end
redis.call('HSET', mk(peer), 'recv', ARGV[6])
return push(peer, ARGV[7], false)
`;

/** ARGV[4..]: peer, gen, received, target, kicked, peerLeft, reply. */
export const KICK = `${PRELUDE}
local peer, gen, target = ARGV[4], ARGV[5], ARGV[7]
if not seated(peer, gen) then return {'not-in-room'} end
redis.call('HSET', mk(peer), 'recv', ARGV[6])
if target == peer or not redis.call('ZSCORE', order, target) then return {'unknown-peer'} end
local tm = mk(target)
local node = redis.call('HGET', tm, 'node')
local parked = redis.call('HGET', tm, 'until')
push(target, ARGV[8], true)
redis.call('ZREM', order, target)
redis.call('DEL', tm)
redis.call('PEXPIRE', ok_(target), 60000)
for _, q in ipairs(redis.call('ZRANGE', order, 0, -1)) do
  if q ~= peer then push(q, ARGV[9], true) end
end
local was = 0
if parked ~= '0' then was = 1 end
local e, sid = ev()
return {'ok', push(peer, ARGV[10], false), node, was, e, sid}
`;

/** ARGV[4..]: peer, gen, received, locked (1/0), announce, reply. */
export const LOCK = `${PRELUDE}
local peer, gen = ARGV[4], ARGV[5]
if not seated(peer, gen) then return {'not-in-room'} end
redis.call('HSET', mk(peer), 'recv', ARGV[6])
redis.call('HSET', room, 'locked', ARGV[7])
for _, q in ipairs(redis.call('ZRANGE', order, 0, -1)) do
  if q ~= peer then push(q, ARGV[8], true) end
end
return {'ok', push(peer, ARGV[9], false)}
`;

/**
 * ARGV[4..]: peer, gen, received, target, reply. One report per pair for
 * the membership: a field of the member's hash, so it goes with the member.
 */
export const REPORT = `${PRELUDE}
local peer, gen, target = ARGV[4], ARGV[5], ARGV[7]
if not seated(peer, gen) then return {'not-in-room'} end
local m = mk(peer)
redis.call('HSET', m, 'recv', ARGV[6])
if target == peer or not redis.call('ZSCORE', order, target) then return {'unknown-peer'} end
if redis.call('HSETNX', m, 'cr:' .. target, 1) == 0 then return {'duplicate'} end
return {'ok', push(peer, ARGV[8], false)}
`;

/** ARGV[4..]: peer, gen, received, seq. */
export const ACK = `${PRELUDE}
local peer, gen, seq = ARGV[4], ARGV[5], tonumber(ARGV[7])
if not seated(peer, gen) then return 'ok' end
local m = mk(peer)
redis.call('HSET', m, 'recv', ARGV[6])
if seq > tonumber(redis.call('HGET', m, 'seq')) then return 'never' end
trim(peer, seq)
return 'ok'
`;

/**
 * ARGV[4..]: peer, tokenHash, lastSeq, node, peerLeft.
 * ok: {'ok', gen, info, recv, seq, wasParked, oldNode, oldGen, roomId, n, seq1, frame1, ..., others' infos...}
 */
export const RESUME = `${PRELUDE}
local peer, tok, last, node = ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7]
local m = mk(peer)
local f = redis.call('HMGET', m, 'tok', 'seq', 'floor', 'node', 'gen', 'until', 'info', 'recv')
if not f[1] then return {'unknown'} end
if f[1] ~= tok then return {'bad-token'} end
local seq, floor, oldNode, oldGen = tonumber(f[2]), tonumber(f[3]), f[4], f[5]
if last > seq or last + 1 < floor then
  -- The owner asked but what it missed is gone: its place is useless now.
  if oldNode ~= '' then redis.call('PUBLISH', CH .. oldNode, 'r\\n' .. peer .. '\\n' .. oldGen) end
  local id = redis.call('HGET', room, 'id') or ''
  local deleted, was, _, e, sid = remove(peer, ARGV[8])
  return {'gap', deleted, was, oldNode, id, e, sid}
end
local gen = now_us()
if gen <= tonumber(oldGen) then gen = tonumber(oldGen) + 1 end
gen = int(gen)
redis.call('HSET', m, 'node', node, 'gen', gen, 'until', 0)
redis.call('PERSIST', ok_(peer))
trim(peer, last)
if oldNode ~= '' then redis.call('PUBLISH', CH .. oldNode, 'r\\n' .. peer .. '\\n' .. oldGen) end
local was = 0
if f[6] ~= '0' then was = 1 end
local out = {'ok', gen, f[7], f[8], seq, was, oldNode, oldGen, redis.call('HGET', room, 'id')}
local es = redis.call('XRANGE', ok_(peer), (last + 1) .. '-1', '+')
out[#out + 1] = #es
for _, e in ipairs(es) do
  out[#out + 1] = string.match(e[1], '^(%d+)')
  out[#out + 1] = e[2][2]
end
return infos(out, peer)
`;

/** ARGV[4..]: peer, gen, after. {'gap'} when frames after it are gone; else seq, frame pairs. */
export const FRAMES_AFTER = `${PRELUDE}
local peer, gen, after = ARGV[4], ARGV[5], tonumber(ARGV[6])
local f = redis.call('HMGET', mk(peer), 'gen', 'floor')
if f[1] and f[1] ~= gen then return {'gap'} end
if f[2] and after + 1 < tonumber(f[2]) then return {'gap'} end
local out = {'ok'}
for _, e in ipairs(redis.call('XRANGE', ok_(peer), (after + 1) .. '-1', '+')) do
  out[#out + 1] = string.match(e[1], '^(%d+)')
  out[#out + 1] = e[2][2]
end
return out
`;

/** ARGV[4..]: peer, peerLeft. The grace period of a parked member is over (if it is). */
export const EXPIRE = `${PRELUDE}
local peer = ARGV[4]
local u = redis.call('HGET', mk(peer), 'until')
if not u then return {'gone'} end
if u == '0' then return {'attached'} end
if tonumber(u) > now_ms() then return {'later', u} end
local id = redis.call('HGET', room, 'id') or ''
local deleted, _, _, e, sid = remove(peer, ARGV[5])
return {'expired', deleted, id, e, sid}
`;

/** ARGV[4..]: peer, deadNode, graceMs, peerLeft. A member whose node died is parked from now. */
export const ORPHAN = `${PRELUDE}
local peer, dead, grace = ARGV[4], ARGV[5], tonumber(ARGV[6])
local m = mk(peer)
if redis.call('HGET', m, 'node') ~= dead then return {'no'} end
if grace == 0 then
  local id = redis.call('HGET', room, 'id') or ''
  local deleted, _, _, e, sid = remove(peer, ARGV[7])
  return {'left', deleted, id, e, sid}
end
local untilMs = now_ms() + grace
-- A new generation: whatever the dead node still tries for it is stale.
local gen = int(tonumber(redis.call('HGET', m, 'gen')) + 1)
redis.call('HSET', m, 'node', '', 'until', untilMs, 'gen', gen)
redis.call('PEXPIRE', ok_(peer), grace + 60000)
return {'parked', untilMs}
`;

/** The members' infos, oldest first. */
export const MEMBERS = `${PRELUDE}
return infos({}, '')
`;

/**
 * KEYS: epoch, nodes, fenced. ARGV: node, epoch. A node's heartbeat; tells
 * it when it was declared dead meanwhile or the store lost its data.
 */
export const BEAT = `
local e = redis.call('GET', KEYS[1])
if not e then return {'epoch-lost'} end
if e ~= ARGV[2] then return {'epoch-changed'} end
if redis.call('ZSCORE', KEYS[3], ARGV[1]) then return {'fenced'} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[2], now, ARGV[1])
return {'ok', string.format('%.0f', now)}
`;

/**
 * KEYS: nodes, fenced. ARGV: livenessMs. Declares every node silent for
 * longer than the liveness bound dead (fenced: it may never act again
 * under that name) and returns them.
 */
export const REAP_NODES = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]))
for _, n in ipairs(dead) do
  redis.call('ZREM', KEYS[1], n)
  redis.call('ZADD', KEYS[2], now, n)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 86400000)
return dead
`;

/** An operator's view of the room: 'gone', or 'ok', capacity, locked, then info and until per member. */
export const INSPECT = `${PRELUDE}
local c = redis.call('HGET', room, 'cap')
if not c then return {'gone'} end
local out = {'ok', c, redis.call('HGET', room, 'locked') or '0'}
for _, q in ipairs(redis.call('ZRANGE', order, 0, -1)) do
  local f = redis.call('HMGET', mk(q), 'info', 'until')
  out[#out + 1] = f[1]
  out[#out + 1] = f[2] or '0'
end
return out
`;

/**
 * ARGV[4..]: target ('' for every member), kicked, peerLeft. An operator
 * removes members: each gets kicked last; the rest (when one goes) get
 * peerLeft. Returns 'gone', or 'ok', room deleted (0/1), the room's sid,
 * then peer, node, was parked (0/1), peer-left's event number per member
 * removed (room-finished, if deleted, is the next number).
 */
export const EVICT = `${PRELUDE}
local target, kicked, left = ARGV[4], ARGV[5], ARGV[6]
if not redis.call('HGET', room, 'cap') then return {'gone'} end
local targets
if target == '' then
  targets = redis.call('ZRANGE', order, 0, -1)
else
  if not redis.call('ZSCORE', order, target) then return {'gone'} end
  targets = {target}
end
local out = {'ok', 0, redis.call('HGET', room, 'sid') or ''}
for _, q in ipairs(targets) do
  local m = mk(q)
  local node = redis.call('HGET', m, 'node') or ''
  local parked = redis.call('HGET', m, 'until')
  push(q, kicked, true)
  redis.call('ZREM', order, q)
  redis.call('DEL', m)
  redis.call('PEXPIRE', ok_(q), 60000)
  local was = 0
  if parked and parked ~= '0' then was = 1 end
  out[#out + 1] = q
  out[#out + 1] = node
  out[#out + 1] = was
  out[#out + 1] = (ev())
end
local rest = redis.call('ZRANGE', order, 0, -1)
if target ~= '' then
  for _, q in ipairs(rest) do push(q, left, true) end
end
if #rest == 0 then
  redis.call('DEL', room)
  out[2] = 1
end
return out
`;
