"""The Lua the cache runs in Redis: each touches keys of one tenant (one slot)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import NoScriptError

# Set the value only if what is stored is older: a reader that filled from a
# stale read must not overwrite a newer write-through. Values start
# "incarnation.version|": the incarnation (the record's creation time in µs)
# first, so a record deleted and created again under the same id (versions
# restart at 1) is newer than anything of its predecessor.
VERSIONED_SET = """
local cur = redis.call('GET', KEYS[1])
if cur then
  local c, v = string.match(cur, '^(%d+)%.(%d+)|')
  if c then
    c, v = tonumber(c), tonumber(v)
    local nc, nv = tonumber(ARGV[1]), tonumber(ARGV[2])
    if c > nc or (c == nc and v >= nv) then return 0 end
  end
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
return 1
"""


@dataclass(frozen=True)
class Script:
    text: str

    @property
    def sha(self) -> str:
        return hashlib.sha1(self.text.encode()).hexdigest()


# KEYS: the generations hash, a value. ARGV: the hash's fields. The fields'
# values, then the value ("" when absent: a Lua nil cannot end a table).
GENERATIONS_AND = Script("""
local out = redis.call('HMGET', KEYS[1], unpack(ARGV))
out[#out + 1] = redis.call('GET', KEYS[2]) or ''
return out
""")
UNLOCK = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end"


async def run_script(redis: Any, script: Script, keys: Sequence[str], args: Sequence[Any]) -> Any:
    """EVALSHA; on a server that does not know the script yet (first use, a restart)
    EVAL, which also caches it there."""
    try:
        return await redis.evalsha(script.sha, len(keys), *keys, *args)
    except NoScriptError:
        return await redis.eval(script.text, len(keys), *keys, *args)
