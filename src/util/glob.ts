/*
 * Port of `stringmatchlen` from Redis's src/util.c (a BSD-licensed release, 7.2 or earlier).
 * The original's license, which this file keeps (see also NOTICE):
 *
 * Copyright (c) 2009-2012, Salvatore Sanfilippo <antirez at gmail dot com>
 * All rights reserved.
 *
 * Redistribution and use in source and binary forms, with or without
 * modification, are permitted provided that the following conditions are met:
 *
 *   * Redistributions of source code must retain the above copyright notice,
 *     this list of conditions and the following disclaimer.
 *   * Redistributions in binary form must reproduce the above copyright
 *     notice, this list of conditions and the following disclaimer in the
 *     documentation and/or other materials provided with the distribution.
 *   * Neither the name of Redis nor the names of its contributors may be used
 *     to endorse or promote products derived from this software without
 *     specific prior written permission.
 *
 * THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
 * AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
 * IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE
 * ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT OWNER OR CONTRIBUTORS BE
 * LIABLE FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR
 * CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF
 * SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS
 * INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN
 * CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE)
 * ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE
 * POSSIBILITY OF SUCH DAMAGE.
 */

/**
 * Redis glob semantics in two directions: a matcher for L1 keys that agrees with SCAN MATCH on L2
 * keys, and an escaper for the literal namespace prefix put in front of a user glob.
 *
 * The matcher is a port of Redis's `stringmatchlen` (util.c, 7.x), not a RegExp translation:
 * Redis's bracket rules differ from POSIX (`[]` is an empty class, an unclosed `[` takes the rest
 * of the pattern as its set, `[a-]` is a range up to `]`), and it matches bytes, not characters
 * (`?` does not match the two UTF-8 bytes of `ñ`). test/glob.test.ts checks agreement against a
 * real server. Like Redis, recursion is capped (nesting > 1000 is no match) and a failed `*`
 * suffix search stops further backtracking, so hostile patterns stay linear-ish.
 */
export function globMatcher(glob: string): (key: string) => boolean {
  const p = toBytes(glob);
  return (key) => {
    const skip = { longer: false };
    return matchAt(p, 0, toBytes(key), 0, skip, 0);
  };
}

/** Escapes every glob metacharacter so `s` matches only itself under SCAN MATCH. */
export function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\^]/g, '\\$&');
}

// Anything outside printable ASCII takes the (rare) slow path; for ASCII it is the identity anyway.
const NON_ASCII = /[^ -~]/;
function toBytes(s: string): string {
  return NON_ASCII.test(s) ? Buffer.from(s, 'utf8').toString('latin1') : s;
}

const STAR = 42; // *
const QUESTION = 63; // ?
const OPEN = 91; // [
const CLOSE = 93; // ]
const BACKSLASH = 92; // \
const CARET = 94; // ^
const DASH = 45; // -

function matchAt(p: string, pi: number, s: string, si: number, skip: { longer: boolean }, nesting: number): boolean {
  if (nesting > 1000) return false;
  const pl = p.length;
  const sl = s.length;
  while (pi < pl && si < sl) {
    const c = p.charCodeAt(pi);
    if (c === STAR) {
      while (pi + 1 < pl && p.charCodeAt(pi + 1) === STAR) pi++;
      if (pi + 1 === pl) return true;
      while (si < sl) {
        if (matchAt(p, pi + 1, s, si, skip, nesting + 1)) return true;
        if (skip.longer) return false;
        si++;
      }
      skip.longer = true;
      return false;
    } else if (c === QUESTION) {
      si++;
    } else if (c === OPEN) {
      pi++;
      const not = pi < pl && p.charCodeAt(pi) === CARET;
      if (not) pi++;
      let match = false;
      const sc = s.charCodeAt(si);
      for (;;) {
        if (pi < pl && p.charCodeAt(pi) === BACKSLASH && pl - pi >= 2) {
          pi++;
          if (p.charCodeAt(pi) === sc) match = true;
        } else if (pi < pl && p.charCodeAt(pi) === CLOSE) {
          break;
        } else if (pi >= pl) {
          pi--;
          break;
        } else if (pl - pi >= 3 && p.charCodeAt(pi + 1) === DASH) {
          let start = p.charCodeAt(pi);
          let end = p.charCodeAt(pi + 2);
          if (start > end) [start, end] = [end, start];
          pi += 2;
          if (sc >= start && sc <= end) match = true;
        } else if (p.charCodeAt(pi) === sc) {
          match = true;
        }
        pi++;
      }
      if (not) match = !match;
      if (!match) return false;
      si++;
    } else {
      if (c === BACKSLASH && pl - pi >= 2) pi++;
      if (p.charCodeAt(pi) !== s.charCodeAt(si)) return false;
      si++;
    }
    pi++;
    if (si === sl) {
      while (pi < pl && p.charCodeAt(pi) === STAR) pi++;
      break;
    }
  }
  return pi === pl && si === sl;
}
