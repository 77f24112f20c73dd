#!/usr/bin/env node
// Independent verifier for the audit log format, version 1.
//
// Written from docs/audit-log-format.md alone (no gateway source), for auditors.
// It also checks the field kits' segments merged into the log (device keys enrolled by
// `offline.kit_prepared`, device-signed lines carried by `offline.record` batches).
// Usage:
//   node tests/audit/independent_verifier.mjs --log FILE --key PUBKEY.pem [--checkpoint FILE]
// Prints one JSON line. Exit 0 when the log holds, 1 at the first failure, 2 on a usage error.
// Only Node's built-in modules are used.

import { createHash, createPublicKey, verify as cryptoVerify } from "node:crypto";
import { accessSync, constants, createReadStream, readFileSync } from "node:fs";

const SIGNING_PREFIX = Buffer.from("it-support-gateway audit record v1\n", "ascii");
const ZERO_HASH = "0".repeat(64);
const MAX_SAFE = 2n ** 53n - 1n;
const MAX_DEPTH = 100;
const MAX_NOTE_BYTES = 1 << 20;
const MAX_SIGNATURES = 100;
const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");

const MEMBERS = [
  "action",
  "actor",
  "decision_id",
  "key_id",
  "payload",
  "policy_digest",
  "prev",
  "redacted",
  "resource",
  "seq",
  "sig",
  "time",
  "type",
  "v",
];
const NULLABLE_STRINGS = ["actor", "action", "resource", "decision_id", "policy_digest"];
const TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const HEX64_RE = /^[0-9a-f]{64}$/;
const HEX16_RE = /^[0-9a-f]{16}$/;
const TYPE_RE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;
const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

// ---------------------------------------------------------------------------
// Failures

class Failure extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

class UsageError extends Error {}

// ---------------------------------------------------------------------------
// A strict JSON parser: keeps integers exact (BigInt), keeps member order,
// rejects duplicate keys, fractions, exponents and lone surrogates. Anything it
// accepts is re-encoded canonically and compared with the input.

class JsonObject {
  constructor(entries) {
    this.entries = entries; // Map, insertion order = order in the text
  }
}

class Parser {
  constructor(text) {
    this.s = text;
    this.i = 0;
  }

  fail(what) {
    throw new Failure("malformed record", `not JSON: ${what} at offset ${this.i}`);
  }

  ws() {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.i++;
      else break;
    }
  }

  parseDocument() {
    this.ws();
    const v = this.value(0);
    this.ws();
    if (this.i !== this.s.length) this.fail("trailing characters");
    return v;
  }

  value(depth) {
    // The record object is at depth 0, its payload at depth 1; no object or array may be
    // deeper than 100.
    const c = this.s[this.i];
    if ((c === "{" || c === "[") && depth > MAX_DEPTH) {
      throw new Failure("malformed record", `nested deeper than ${MAX_DEPTH} levels`);
    }
    if (c === "{") return this.object(depth);
    if (c === "[") return this.array(depth);
    if (c === '"') return this.string();
    if (c === "-" || (c >= "0" && c <= "9")) return this.number();
    if (this.s.startsWith("true", this.i)) {
      this.i += 4;
      return true;
    }
    if (this.s.startsWith("false", this.i)) {
      this.i += 5;
      return false;
    }
    if (this.s.startsWith("null", this.i)) {
      this.i += 4;
      return null;
    }
    return this.fail("unexpected character");
  }

  object(depth) {
    this.i++; // {
    const entries = new Map();
    this.ws();
    if (this.s[this.i] === "}") {
      this.i++;
      return new JsonObject(entries);
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') this.fail("expected a member name");
      const key = this.string();
      if (entries.has(key)) {
        throw new Failure("malformed record", `not canonical: duplicate key ${JSON.stringify(key)}`);
      }
      this.ws();
      if (this.s[this.i] !== ":") this.fail("expected ':'");
      this.i++;
      this.ws();
      entries.set(key, this.value(depth + 1));
      this.ws();
      const c = this.s[this.i];
      if (c === ",") {
        this.i++;
        continue;
      }
      if (c === "}") {
        this.i++;
        return new JsonObject(entries);
      }
      this.fail("expected ',' or '}'");
    }
  }

  array(depth) {
    this.i++; // [
    const items = [];
    this.ws();
    if (this.s[this.i] === "]") {
      this.i++;
      return items;
    }
    for (;;) {
      this.ws();
      items.push(this.value(depth + 1));
      this.ws();
      const c = this.s[this.i];
      if (c === ",") {
        this.i++;
        continue;
      }
      if (c === "]") {
        this.i++;
        return items;
      }
      this.fail("expected ',' or ']'");
    }
  }

  hex4() {
    const h = this.s.slice(this.i, this.i + 4);
    if (!/^[0-9A-Fa-f]{4}$/.test(h)) this.fail("bad \\u escape");
    this.i += 4;
    return parseInt(h, 16);
  }

  string() {
    const s = this.s;
    this.i++; // opening quote
    let out = "";
    let start = this.i;
    for (;;) {
      if (this.i >= s.length) this.fail("unterminated string");
      const c = s.charCodeAt(this.i);
      if (c === 0x22) {
        out += s.slice(start, this.i);
        this.i++;
        return out;
      }
      if (c < 0x20) this.fail("control character in string");
      if (c !== 0x5c) {
        this.i++;
        continue;
      }
      out += s.slice(start, this.i);
      this.i++; // backslash
      const e = s[this.i++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case "\\":
          out += "\\";
          break;
        case "/":
          out += "/";
          break;
        case "b":
          out += "\b";
          break;
        case "f":
          out += "\f";
          break;
        case "n":
          out += "\n";
          break;
        case "r":
          out += "\r";
          break;
        case "t":
          out += "\t";
          break;
        case "u": {
          const u = this.hex4();
          if (u >= 0xd800 && u <= 0xdbff) {
            if (s[this.i] !== "\\" || s[this.i + 1] !== "u") {
              throw new Failure("malformed record", "not canonical: lone surrogate in string");
            }
            this.i += 2;
            const l = this.hex4();
            if (l < 0xdc00 || l > 0xdfff) {
              throw new Failure("malformed record", "not canonical: lone surrogate in string");
            }
            out += String.fromCharCode(u, l);
          } else if (u >= 0xdc00 && u <= 0xdfff) {
            throw new Failure("malformed record", "not canonical: lone surrogate in string");
          } else {
            out += String.fromCharCode(u);
          }
          break;
        }
        default:
          this.fail("bad escape");
      }
      start = this.i;
    }
  }

  number() {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.s.slice(this.i, this.i + 400));
    if (!m || m[0] === "-") this.fail("bad number");
    // A number too long for the slice above is certainly out of range or not canonical.
    this.i += m[0].length;
    if (m[2] !== undefined || m[3] !== undefined) {
      throw new Failure("malformed record", `not canonical: ${m[0]} is not an integer`);
    }
    const n = BigInt(m[0]);
    if (n > MAX_SAFE || n < -MAX_SAFE) {
      throw new Failure("malformed record", `not canonical: integer ${m[0]} is outside ±(2^53 − 1)`);
    }
    return n;
  }
}

// ---------------------------------------------------------------------------
// Canonical encoding

function compareCodePoints(a, b) {
  // Compare by Unicode code point, not by UTF-16 code unit.
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.codePointAt(i);
    const cb = b.codePointAt(j);
    if (ca !== cb) return ca < cb ? -1 : 1;
    i += ca > 0xffff ? 2 : 1;
    j += cb > 0xffff ? 2 : 1;
  }
  if (i < a.length) return 1;
  if (j < b.length) return -1;
  return 0;
}

const SHORT_ESCAPES = {
  0x22: '\\"',
  0x5c: "\\\\",
  0x08: "\\b",
  0x09: "\\t",
  0x0a: "\\n",
  0x0c: "\\f",
  0x0d: "\\r",
};

function encodeString(s) {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const hi = c <= 0xdbff;
      const next = s.charCodeAt(i + 1);
      if (hi && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      throw new Failure("malformed record", "not canonical: lone surrogate in string");
    }
    if (c < 0x20 || c === 0x22 || c === 0x5c) {
      out += s.slice(start, i);
      out += SHORT_ESCAPES[c] ?? `\\u00${c.toString(16).padStart(2, "0")}`;
      start = i + 1;
    }
  }
  return out + s.slice(start) + '"';
}

function encode(v) {
  if (v === null) return "null";
  if (v === true) return "true";
  if (v === false) return "false";
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "string") return encodeString(v);
  if (Array.isArray(v)) return `[${v.map(encode).join(",")}]`;
  if (v instanceof JsonObject) {
    const keys = [...v.entries.keys()].sort(compareCodePoints);
    return `{${keys.map((k) => `${encodeString(k)}:${encode(v.entries.get(k))}`).join(",")}}`;
  }
  throw new Error(`cannot encode ${typeof v}`);
}

// ---------------------------------------------------------------------------
// Helpers

const sha256 = (...parts) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};

function strictBase64(s, expectedLength) {
  if (typeof s !== "string" || !B64_RE.test(s)) return null;
  const b = Buffer.from(s, "base64");
  if (b.toString("base64") !== s) return null; // non-zero pad bits
  if (expectedLength !== undefined && b.length !== expectedLength) return null;
  return b;
}

function keyFromRaw(raw) {
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: "der", type: "spki" });
}

function rawFromKey(key) {
  if (key.asymmetricKeyType !== "ed25519") throw new UsageError("the key is not an Ed25519 public key");
  const der = key.export({ type: "spki", format: "der" });
  return der.subarray(der.length - 32);
}

const keyId = (raw) => sha256(raw).toString("hex").slice(0, 16);

function makeKey(raw) {
  return { raw: Buffer.from(raw), id: keyId(raw), obj: keyFromRaw(raw) };
}

// Merkle tree hash (RFC 6962 §2.1), kept as a stack of perfect subtrees so
// the log can be streamed. The fold from the right equals MTH because the
// split point is always the largest power of two smaller than n.
class MerkleAccumulator {
  constructor() {
    this.stack = []; // [{size, hash}]
    this.size = 0;
  }

  push(leaf) {
    let node = { size: 1, hash: sha256(Buffer.from([0]), leaf) };
    while (this.stack.length && this.stack[this.stack.length - 1].size === node.size) {
      const left = this.stack.pop();
      node = { size: left.size * 2, hash: sha256(Buffer.from([1]), left.hash, node.hash) };
    }
    this.stack.push(node);
    this.size++;
  }

  root() {
    if (this.stack.length === 0) return sha256(Buffer.alloc(0));
    let h = this.stack[this.stack.length - 1].hash;
    for (let k = this.stack.length - 2; k >= 0; k--) {
      h = sha256(Buffer.from([1]), this.stack[k].hash, h);
    }
    return h;
  }
}

// ---------------------------------------------------------------------------
// Checkpoints: C2SP tlog-checkpoint in a C2SP signed note.

function badCheckpoint(message) {
  return new Failure("bad checkpoint", `bad checkpoint: ${message}`);
}

function parseCheckpoint(bytes) {
  if (bytes.length > MAX_NOTE_BYTES) throw badCheckpoint(`note larger than ${MAX_NOTE_BYTES} bytes`);
  let text;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw badCheckpoint("not UTF-8");
  }
  // A signed note has no control characters other than newline.
  if (/[\u0000-\u0009\u000b-\u001f]/.test(text)) throw badCheckpoint("control character in note");
  const split = text.lastIndexOf("\n\n");
  if (split < 0) throw badCheckpoint("not a signed note (no blank line before the signatures)");
  const body = text.slice(0, split + 1);
  const sigText = text.slice(split + 2);
  if (!sigText.endsWith("\n")) throw badCheckpoint("not a signed note (signature lines must end in newline)");
  const signatures = [];
  for (const line of sigText.slice(0, -1).split("\n")) {
    const m = /^\u2014 ([^ ]+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m || /[\s+]/u.test(m[1])) throw badCheckpoint(`malformed signature line ${JSON.stringify(line)}`);
    const blob = strictBase64(m[2]);
    if (!blob || blob.length < 5) throw badCheckpoint(`malformed signature in line ${JSON.stringify(line)}`);
    signatures.push({ name: m[1], keyHash: blob.subarray(0, 4), sig: blob.subarray(4) });
  }
  if (signatures.length === 0) throw badCheckpoint("no signatures");
  if (signatures.length > MAX_SIGNATURES) throw badCheckpoint(`more than ${MAX_SIGNATURES} signatures`);

  const lines = body.slice(0, -1).split("\n");
  if (lines.length < 3) throw badCheckpoint("a checkpoint has an origin, a size and a root hash");
  const [origin, sizeText, rootText, ...extensions] = lines;
  if (origin === "") throw badCheckpoint("empty origin");
  if (extensions.some((l) => l === "")) throw badCheckpoint("empty extension line");
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) throw badCheckpoint(`bad tree size ${JSON.stringify(sizeText)}`);
  if (BigInt(sizeText) >= 2n ** 64n) throw badCheckpoint(`tree size ${sizeText} is not below 2^64`);
  const root = strictBase64(rootText, 32);
  if (!root) throw badCheckpoint(`bad root hash ${JSON.stringify(rootText)}`);
  return { origin, size: BigInt(sizeText), root, body: Buffer.from(body, "utf8"), signatures };
}

function noteKeyHash(name, raw) {
  return sha256(Buffer.from(name, "utf8"), Buffer.from([0x0a, 0x01]), raw).subarray(0, 4);
}

// The checkpoint holds when a signature line named after the origin carries the
// note key id of one of the chain's keys and verifies. As in C2SP signed-note, a
// signature line from a known key that does not verify rejects the whole note.
function checkCheckpointSignature(cp, keys) {
  let verified = false;
  for (const s of cp.signatures) {
    if (s.name !== cp.origin) continue;
    for (const k of keys) {
      if (!noteKeyHash(cp.origin, k.raw).equals(s.keyHash)) continue;
      if (s.sig.length !== 64 || !cryptoVerify(null, cp.body, k.obj, s.sig)) {
        throw badCheckpoint(`bad signature from key ${k.id}`);
      }
      verified = true;
    }
  }
  if (!verified) throw badCheckpoint("no signature by a key of the log's key chain");
}

// ---------------------------------------------------------------------------
// Records

function checkRecordShape(rec) {
  if (!(rec instanceof JsonObject)) throw new Failure("malformed record", "a record is a JSON object");
  const e = rec.entries;
  const missing = MEMBERS.filter((m) => !e.has(m));
  const extra = [...e.keys()].filter((k) => !MEMBERS.includes(k));
  if (missing.length) throw new Failure("malformed record", `missing member(s): ${missing.join(", ")}`);
  if (extra.length) throw new Failure("malformed record", `unexpected member(s): ${extra.join(", ")}`);
  const bad = (m, what) => new Failure("malformed record", `member ${m} must be ${what}`);
  if (e.get("v") !== 1n) throw bad("v", "the integer 1");
  if (typeof e.get("seq") !== "bigint" || e.get("seq") < 0n) throw bad("seq", "an integer >= 0");
  if (typeof e.get("time") !== "string" || !TIME_RE.test(e.get("time"))) {
    throw bad("time", "a string YYYY-MM-DDTHH:MM:SS.ffffffZ");
  }
  if (typeof e.get("prev") !== "string" || !HEX64_RE.test(e.get("prev"))) {
    throw bad("prev", "64 lower-case hex digits");
  }
  if (typeof e.get("type") !== "string" || !TYPE_RE.test(e.get("type"))) {
    throw bad("type", "an event type matching ^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*$");
  }
  for (const m of NULLABLE_STRINGS) {
    const x = e.get(m);
    if (x !== null && typeof x !== "string") throw bad(m, "a string or null");
  }
  if (!(e.get("payload") instanceof JsonObject)) throw bad("payload", "an object");
  const red = e.get("redacted");
  if (!Array.isArray(red) || !red.every((x) => typeof x === "string")) throw bad("redacted", "an array of strings");
  if (typeof e.get("key_id") !== "string" || !HEX16_RE.test(e.get("key_id"))) {
    throw bad("key_id", "16 lower-case hex digits");
  }
  if (!strictBase64(e.get("sig"), 64)) throw bad("sig", "standard padded base64 of 64 bytes");
}

// ---------------------------------------------------------------------------
// Field kits: device keys enrolled by `offline.kit_prepared`, segments of a kit's
// chain merged by `offline.segment_merged` and carried by `offline.record` batches.

const MAX_BATCH = 500;
const isInt = (x) => typeof x === "bigint";
const describe = (x) => (x instanceof JsonObject ? "{...}" : Array.isArray(x) ? "[...]" : typeof x === "string" ? JSON.stringify(x) : String(x));

// A failure inside a kit chain: reported as `bad segment` at the central record.
class SegmentFailure extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

function checkKitChainRecord(kit, text, index) {
  const rec = new Parser(text).parseDocument();
  checkRecordShape(rec);
  if (encode(rec) !== text) throw new Failure("malformed record", "not canonical JSON");
  const e = rec.entries;
  const seq = e.get("seq");
  if (seq > BigInt(index)) throw new SegmentFailure("gap", `seq ${seq} where ${index} was expected`);
  if (seq < BigInt(index)) throw new SegmentFailure("out of order", `seq ${seq} where ${index} was expected`);
  if (e.get("prev") !== kit.lastHash) {
    throw new SegmentFailure("broken chain", `prev is ${e.get("prev")}, the kit chain's last hash is ${kit.lastHash}`);
  }
  if (e.get("key_id") !== kit.key.id || e.get("type") === "audit.key_rotated") {
    throw new SegmentFailure("unknown key", `signed by ${e.get("key_id")}, the device key is ${kit.key.id}`);
  }
  const unsigned = new JsonObject(new Map([...e].filter(([k]) => k !== "sig")));
  const signingInput = Buffer.concat([SIGNING_PREFIX, Buffer.from(encode(unsigned), "utf8")]);
  if (!cryptoVerify(null, signingInput, kit.key.obj, strictBase64(e.get("sig"), 64))) {
    throw new SegmentFailure("bad signature", `the signature does not verify with device key ${kit.key.id}`);
  }
  const time = e.get("time");
  if (!(kit.issued <= time && time < kit.expires)) {
    throw new SegmentFailure("outside validity", `time ${time} is outside ${kit.issued} .. ${kit.expires}`);
  }
  if (kit.lastTime !== null && time < kit.lastTime) {
    throw new SegmentFailure("clock went backwards", `time ${time} is before ${kit.lastTime}`);
  }
  const digest = e.get("policy_digest");
  if (digest !== null && digest !== kit.policyDigest) {
    throw new SegmentFailure("policy mismatch", `policy ${digest}, the kit carries ${kit.policyDigest}`);
  }
  kit.lastHash = sha256(Buffer.from(text, "utf8")).toString("hex");
  kit.lastTime = time;
  kit.merged += 1n;
}

class KitTracker {
  constructor() {
    this.kits = new Map(); // kit_id -> state
  }

  onRecord(e, recordHash) {
    const type = e.get("type");
    const p = e.get("payload").entries;
    if (type === "offline.kit_prepared") this.enrol(p, recordHash);
    else if (type === "offline.kit_revoked") {
      const kit = this.kits.get(p.get("kit_id"));
      if (kit) kit.revoked = true;
    } else if (type === "offline.segment_merged") this.openMerge(p);
    else if (type === "offline.record") this.batch(p);
  }

  enrol(p, recordHash) {
    const hex = p.get("device_public_key");
    if (typeof hex !== "string" || !HEX64_RE.test(hex)) {
      throw new Failure("malformed record", "device_public_key must be 64 lower-case hex digits");
    }
    for (const m of ["kit_id", "issued", "expires", "policy_digest"]) {
      if (typeof p.get(m) !== "string") throw new Failure("malformed record", `kit member ${m} must be a string`);
    }
    let key;
    try {
      key = makeKey(Buffer.from(hex, "hex"));
    } catch {
      throw new Failure("malformed record", "device_public_key is not an Ed25519 public key");
    }
    this.kits.set(p.get("kit_id"), {
      id: p.get("kit_id"),
      key,
      issued: p.get("issued"),
      expires: p.get("expires"),
      policyDigest: p.get("policy_digest"),
      lastHash: recordHash,
      lastTime: null,
      merged: 0n,
      merges: 0n,
      revoked: false,
      open: null,
    });
  }

  openMerge(p) {
    const kitId = p.get("kit_id");
    const kit = this.kits.get(kitId);
    if (typeof kitId !== "string" || !kit) throw new Failure("unknown kit", `no enrolled kit ${describe(kitId)}`);
    if (kit.revoked) throw new Failure("revoked kit", `kit ${kitId} was revoked`);
    const bad = (what) => new Failure("malformed record", `offline.segment_merged: ${what}`);
    const records = p.get("records");
    if (!isInt(records) || records < 0n) throw bad("records must be an integer >= 0");
    if (typeof p.get("head_hash") !== "string") throw bad("head_hash must be a string");
    for (const m of ["segment", "first"]) {
      if (p.has(m) && !isInt(p.get(m))) throw bad(`${m} must be an integer`);
    }
    if (p.has("start_prev") && typeof p.get("start_prev") !== "string") throw bad("start_prev must be a string");
    if (kit.open) throw bad(`a merge of kit ${kitId} is still open`);
    // Logs from before kits had several merges: a missing `first` reads as 0.
    const first = p.has("first") ? p.get("first") : 0n;
    const startPrev = p.has("start_prev") ? p.get("start_prev") : kit.lastHash;
    const segment = p.has("segment") ? p.get("segment") : kit.merges + 1n;
    const gap = (what) => new Failure("bad segment", `kit ${kitId}: the merge does not continue the kit's chain: ${what}`);
    if (first !== kit.merged) throw gap(`first is ${first}, ${kit.merged} records were merged`);
    if (startPrev !== kit.lastHash) throw gap(`start_prev is ${startPrev}, the chain ends at ${kit.lastHash}`);
    if (segment !== kit.merges + 1n) throw gap(`segment is ${segment}, ${kit.merges} merges came before`);
    kit.merges += 1n;
    kit.open = { left: records, next: first, headHash: p.get("head_hash") };
    this.closeIfDone(kit);
  }

  batch(p) {
    const kitId = p.get("kit_id");
    const kit = this.kits.get(kitId);
    const bad = (what) => new Failure("malformed record", `offline.record: ${what}`);
    if (!kit || !kit.open) throw bad(`no open merge of kit ${describe(kitId)}`);
    let first;
    let texts;
    if (p.has("lines")) {
      texts = p.get("lines");
      first = p.get("first");
      if (!Array.isArray(texts) || texts.length < 1 || texts.length > MAX_BATCH) {
        throw bad(`lines must be an array of 1 to ${MAX_BATCH} strings`);
      }
      if (!texts.every((t) => typeof t === "string")) throw bad("lines must hold strings");
    } else {
      if (typeof p.get("line") !== "string") throw bad("line must be a string");
      texts = [p.get("line")];
      first = p.get("index");
    }
    if (BigInt(texts.length) > kit.open.left) throw bad(`more lines than the merge has left (${kit.open.left})`);
    if (!isInt(first) || first !== kit.open.next) throw bad(`first must be the integer ${kit.open.next}`);
    for (const text of texts) {
      const index = kit.merged;
      try {
        checkKitChainRecord(kit, text, index);
      } catch (err) {
        if (!(err instanceof Failure || err instanceof SegmentFailure)) throw err;
        throw new Failure("bad segment", `kit ${kit.id}, segment record ${index}: ${err.kind}: ${err.message}`);
      }
    }
    kit.open.left -= BigInt(texts.length);
    kit.open.next += BigInt(texts.length);
    this.closeIfDone(kit);
  }

  closeIfDone(kit) {
    if (kit.open.left !== 0n) return;
    if (kit.lastHash !== kit.open.headHash) {
      throw new Failure("bad segment", `kit ${kit.id}: head_hash is ${kit.open.headHash}, the merged lines end at ${kit.lastHash}`);
    }
    kit.open = null;
  }

  finish() {
    for (const kit of this.kits.values()) {
      if (kit.open) throw new Failure("incomplete merge", `kit ${kit.id}: ${kit.open.left} merged records are missing`);
    }
  }
}

async function* lines(path) {
  // Split on 0x0A bytes ourselves: readline would also split on CR.
  let pending = [];
  for await (const chunk of createReadStream(path)) {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      pending.push(chunk.subarray(start, nl));
      yield { bytes: Buffer.concat(pending), terminated: true };
      pending = [];
      start = nl + 1;
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
  }
  if (pending.length) yield { bytes: Buffer.concat(pending), terminated: false };
}

async function verifyLog({ logPath, trustedKey, checkpoint }) {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const chain = [trustedKey];
  let inForce = trustedKey;
  let prevHash = ZERO_HASH;
  const tree = new MerkleAccumulator();
  let i = 0;
  let checkpointChecked = false;
  const kits = new KitTracker();

  const checkCheckpointAt = () => {
    if (!checkpoint || checkpointChecked || BigInt(i) !== checkpoint.size) return;
    checkpointChecked = true;
    if (!tree.root().equals(checkpoint.root)) {
      const message =
        `the Merkle root of the first ${i} records is ${tree.root().toString("base64")}, ` +
        `the checkpoint says ${checkpoint.root.toString("base64")}`;
      // Reported at line N - 1, after which it is found (at sequence 0 for N = 0).
      if (i > 0) i--;
      throw new Failure("checkpoint mismatch", message);
    }
  };

  try {
    checkCheckpointAt(); // a checkpoint of size 0
    for await (const { bytes, terminated } of lines(logPath)) {
      if (!terminated) throw new Failure("malformed record", "torn tail: the last line does not end in a newline");
      let text;
      try {
        text = decoder.decode(bytes);
      } catch {
        throw new Failure("malformed record", "not UTF-8");
      }
      const rec = new Parser(text).parseDocument();
      checkRecordShape(rec);
      if (encode(rec) !== text) throw new Failure("malformed record", "not canonical JSON");
      const e = rec.entries;

      const seq = e.get("seq");
      if (seq > BigInt(i)) throw new Failure("gap", `seq ${seq} where ${i} was expected`);
      if (seq < BigInt(i)) throw new Failure("out of order", `seq ${seq} where ${i} was expected`);

      if (e.get("prev") !== prevHash) {
        throw new Failure("broken chain", `prev is ${e.get("prev")}, the previous record hash is ${prevHash}`);
      }
      if (e.get("key_id") !== inForce.id) {
        throw new Failure("unknown key", `signed by ${e.get("key_id")}, the key in force is ${inForce.id}`);
      }
      const unsigned = new JsonObject(new Map([...e].filter(([k]) => k !== "sig")));
      const signingInput = Buffer.concat([SIGNING_PREFIX, Buffer.from(encode(unsigned), "utf8")]);
      const sig = strictBase64(e.get("sig"), 64);
      if (!cryptoVerify(null, signingInput, inForce.obj, sig)) {
        throw new Failure("bad signature", `the signature does not verify with key ${inForce.id}`);
      }

      kits.onRecord(e, sha256(bytes).toString("hex"));

      if (e.get("type") === "audit.key_rotated") {
        const p = e.get("payload").entries;
        const hex = p.get("new_public_key");
        const id = p.get("new_key_id");
        if (typeof hex !== "string" || !/^[0-9a-fA-F]{64}$/.test(hex)) {
          throw new Failure("malformed record", "new_public_key must be 32 bytes of hex");
        }
        const raw = Buffer.from(hex, "hex");
        if (id !== keyId(raw)) throw new Failure("malformed record", "new_key_id is not the key id of new_public_key");
        let next;
        try {
          next = makeKey(raw);
        } catch {
          throw new Failure("malformed record", "new_public_key is not an Ed25519 public key");
        }
        chain.push(next);
        inForce = next;
      }

      prevHash = sha256(bytes).toString("hex");
      tree.push(bytes);
      i++;
      checkCheckpointAt();
    }
    kits.finish();
    if (checkpoint && BigInt(i) < checkpoint.size) {
      throw new Failure(
        "shorter than checkpoint",
        `the log has ${i} records, the checkpoint commits to ${checkpoint.size}`,
      );
    }
  } catch (err) {
    if (err instanceof Failure) return { valid: false, sequence: i, kind: err.kind, error: `record ${i}: ${err.message}` };
    throw err;
  }

  if (checkpoint) {
    try {
      checkCheckpointSignature(checkpoint, chain);
    } catch (err) {
      if (!(err instanceof Failure)) throw err;
      return { valid: false, sequence: null, kind: err.kind, error: err.message };
    }
  }
  return { valid: true, records: i, head_hash: prevHash, root_hash: tree.root().toString("base64") };
}

// ---------------------------------------------------------------------------
// CLI

function parseArgs(argv) {
  const opts = {};
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k];
    const m = /^--(log|key|checkpoint)(?:=(.*))?$/.exec(a);
    if (!m) throw new UsageError(`unknown argument ${a}`);
    const val = m[2] ?? argv[++k];
    if (val === undefined) throw new UsageError(`${a} needs a value`);
    opts[m[1]] = val;
  }
  if (!opts.log || !opts.key) {
    throw new UsageError("usage: independent_verifier.mjs --log FILE --key PUBKEY.pem [--checkpoint FILE]");
  }
  return opts;
}

async function main() {
  let opts;
  let trustedKey;
  let checkpoint = null;
  try {
    opts = parseArgs(process.argv.slice(2));
    let keyObj;
    try {
      keyObj = createPublicKey(readFileSync(opts.key));
    } catch (err) {
      throw new UsageError(`cannot read the public key: ${err.message}`);
    }
    trustedKey = makeKey(rawFromKey(keyObj));
    accessSync(opts.log, constants.R_OK); // fail early when unreadable
  } catch (err) {
    if (err instanceof UsageError || err.code) {
      process.stdout.write(`${JSON.stringify({ valid: false, error: err.message })}\n`);
      return 2;
    }
    throw err;
  }
  if (opts.checkpoint) {
    try {
      checkpoint = parseCheckpoint(readFileSync(opts.checkpoint));
    } catch (err) {
      if (!(err instanceof Failure)) throw err;
      process.stdout.write(`${JSON.stringify({ valid: false, sequence: null, kind: err.kind, error: err.message })}\n`);
      return 1;
    }
  }
  const result = await verifyLog({ logPath: opts.log, trustedKey, checkpoint });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return result.valid ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stdout.write(`${JSON.stringify({ valid: false, error: `internal error: ${err.stack}` })}\n`);
    process.exitCode = 2;
  },
);
