"""Schemathesis hooks for .ci/api-fuzz: one generated JSON body in three gets a control character
(NUL, ESC or a C1 control, in turn) appended to its first string, so that every stored text field
meets them; hypothesis alone draws them only now and then. The choice hangs on the body itself,
never on chance, so that a seed still reproduces a run."""

import json
import zlib

import schemathesis

HOSTILE = ["\x00", "\x1b[31m", "\x9b"]


def first_string_spiked(value, spike):
    """`value` with `spike` appended to its first string (depth first), and whether one was found."""
    if isinstance(value, str):
        return value + spike, True
    if isinstance(value, dict):
        for key, item in value.items():
            spiked, done = first_string_spiked(item, spike)
            if done:
                return {**value, key: spiked}, True
    if isinstance(value, list):
        for index, item in enumerate(value):
            spiked, done = first_string_spiked(item, spike)
            if done:
                return value[:index] + [spiked] + value[index + 1 :], True
    return value, False


@schemathesis.hook
def map_body(ctx, body):
    try:
        digest = zlib.crc32(json.dumps(body, sort_keys=True).encode())
    except (TypeError, ValueError):
        return body
    if digest % 3:
        return body
    spiked, _ = first_string_spiked(body, HOSTILE[digest // 3 % len(HOSTILE)])
    return spiked
