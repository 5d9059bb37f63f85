;; The classifier's hot loop in WebAssembly: steps 2-5 of the feature specification in `features.ts`
;; (after lower-casing, which JavaScript does) and the sliding-window scoring of `model.ts`, operation for
;; operation, so a text scores bit for bit what the TypeScript scorer gives (test/unit/classifier-kernel).
;; About half the CPU of the TypeScript loops in workerd; `kernel.ts` drives it.
;;
;; Assembled by `npm run build:kernel` into `kernel.wasm` (committed: Workers load WebAssembly only as an
;; uploaded module, never compiled from bytes at run time); a test checks the two still agree.
;;
;; Memory layout, in bytes (`kernel.ts` fills the fixed part once per isolate):
;;   0       unit classes, one u8 per UTF-16 code unit: 1 space, 2 word, 4 digit, 0 other
;;   65536   STEP_T, f64 x 1930: change of sign(v)*sqrt|v| when a count v moves up or down by one
;;   81920   STEP_ABS, i32 x 1930: change of |v| for the same moves
;;   98304   char table: 2^charBits x (i16 weight, i16 count), then the word table alike, then scratch
;; Counts stay within +-LIMIT = 482 per window (features.ts WINDOW = 160, at most 3 features per unit);
;; a step's index is ((v + LIMIT) << 1) | down.
;; Hot helpers are written out in place (the finaliser, a feature step): engines do not all inline
;; WebAssembly calls, and a call per feature doubled the scoring time.
(module
  (memory (export "memory") 2)

  ;; Step 2: digits to '0', runs of spaces to one, one space padding each end. `in` holds `n` lower-cased
  ;; units; writes the prepared units and each one's offset in the input; returns how many.
  (func (export "prepare") (param $in i32) (param $n i32) (param $units i32) (param $offs i32) (result i32)
    (local $i i32) (local $k i32) (local $c i32) (local $t i32)
    (i32.store16 (local.get $units) (i32.const 0x20))
    (i32.store (local.get $offs) (i32.const 0))
    (local.set $k (i32.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $c (i32.load16_u (i32.add (local.get $in) (i32.shl (local.get $i) (i32.const 1)))))
        (local.set $t (i32.load8_u (local.get $c)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (if (i32.eq (local.get $t) (i32.const 4))
          (then (local.set $c (i32.const 0x30))))
        (if (i32.eq (local.get $t) (i32.const 1))
          (then
            ;; a space after a space is dropped
            (br_if $next (i32.eq (i32.load16_u (i32.add (local.get $units) (i32.shl (i32.sub (local.get $k) (i32.const 1)) (i32.const 1)))) (i32.const 0x20)))
            (local.set $c (i32.const 0x20))))
        (i32.store16 (i32.add (local.get $units) (i32.shl (local.get $k) (i32.const 1))) (local.get $c))
        (i32.store (i32.add (local.get $offs) (i32.shl (local.get $k) (i32.const 2))) (i32.sub (local.get $i) (i32.const 1)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
    (if (i32.ne (i32.load16_u (i32.add (local.get $units) (i32.shl (i32.sub (local.get $k) (i32.const 1)) (i32.const 1)))) (i32.const 0x20))
      (then
        (i32.store16 (i32.add (local.get $units) (i32.shl (local.get $k) (i32.const 1))) (i32.const 0x20))
        (i32.store (i32.add (local.get $offs) (i32.shl (local.get $k) (i32.const 2))) (local.get $n))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))))
    (local.get $k))

  ;; Steps 3-4, chars: at `out`, two i32 codes per position (3-gram, 5-gram; -1 past the end), each
  ;; bucket << 1 | sign. FNV-1a over the units, then the finaliser x ^= x >>> 16; x *= MIX; x ^= x >>> 13.
  (func (export "chars") (param $units i32) (param $n i32) (param $out i32) (param $mask i32)
    (local $i i32) (local $h i32) (local $p i32) (local $o i32) (local $x i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $p (i32.add (local.get $units) (i32.shl (local.get $i) (i32.const 1))))
        (local.set $o (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 3))))
        (if (i32.gt_u (i32.add (local.get $i) (i32.const 3)) (local.get $n))
          (then (i64.store (local.get $o) (i64.const -1)))
          (else
            (local.set $h (i32.mul (i32.xor (i32.const 0x811c9dc5) (i32.load16_u (local.get $p))) (i32.const 0x01000193)))
            (local.set $h (i32.mul (i32.xor (local.get $h) (i32.load16_u offset=2 (local.get $p))) (i32.const 0x01000193)))
            (local.set $h (i32.mul (i32.xor (local.get $h) (i32.load16_u offset=4 (local.get $p))) (i32.const 0x01000193)))
            (local.set $x (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 16))))
            (local.set $x (i32.mul (local.get $x) (i32.const 0x85ebca6b)))
            (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 13))))
            (i32.store (local.get $o) (i32.or (i32.shl (i32.and (local.get $x) (local.get $mask)) (i32.const 1)) (i32.shr_u (local.get $x) (i32.const 31))))
            (if (i32.gt_u (i32.add (local.get $i) (i32.const 5)) (local.get $n))
              (then (i32.store offset=4 (local.get $o) (i32.const -1)))
              (else
                (local.set $h (i32.mul (i32.xor (local.get $h) (i32.load16_u offset=6 (local.get $p))) (i32.const 0x01000193)))
                (local.set $h (i32.mul (i32.xor (local.get $h) (i32.load16_u offset=8 (local.get $p))) (i32.const 0x01000193)))
                (local.set $x (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 16))))
                (local.set $x (i32.mul (local.get $x) (i32.const 0x85ebca6b)))
                (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 13))))
                (i32.store offset=4 (local.get $o) (i32.or (i32.shl (i32.and (local.get $x) (local.get $mask)) (i32.const 1)) (i32.shr_u (local.get $x) (i32.const 31))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  ;; Steps 3-4, words: unigram and bigram codes with the position of their (last) word's start, in
  ;; position order; returns how many. A word is a run of units whose class is word or digit; its first
  ;; 32 units are hashed (FNV-1a from 0x050c5d1f); a bigram hashes the pair of word hashes.
  (func (export "words") (param $units i32) (param $n i32) (param $pos i32) (param $code i32) (param $mask i32) (result i32)
    (local $i i32) (local $w i32) (local $start i32) (local $h i32) (local $len i32) (local $prev i32) (local $have i32)
    (local $u i32) (local $p i32) (local $x i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (if (i32.lt_u (i32.load8_u (i32.load16_u (i32.add (local.get $units) (i32.shl (local.get $i) (i32.const 1))))) (i32.const 2))
          (then
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next)))
        (local.set $start (local.get $i))
        (local.set $h (i32.const 0x050c5d1f))
        (local.set $len (i32.const 0))
        (block $end
          (loop $more
            (br_if $end (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $u (i32.load16_u (i32.add (local.get $units) (i32.shl (local.get $i) (i32.const 1)))))
            (br_if $end (i32.lt_u (i32.load8_u (local.get $u)) (i32.const 2)))
            (if (i32.lt_u (local.get $len) (i32.const 32))
              (then (local.set $h (i32.mul (i32.xor (local.get $h) (local.get $u)) (i32.const 0x01000193)))))
            (local.set $len (i32.add (local.get $len) (i32.const 1)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $more)))
        (local.set $x (i32.xor (local.get $h) (i32.shr_u (local.get $h) (i32.const 16))))
        (local.set $x (i32.mul (local.get $x) (i32.const 0x85ebca6b)))
        (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 13))))
        (i32.store (i32.add (local.get $pos) (i32.shl (local.get $w) (i32.const 2))) (local.get $start))
        (i32.store (i32.add (local.get $code) (i32.shl (local.get $w) (i32.const 2)))
          (i32.or (i32.shl (i32.and (local.get $x) (local.get $mask)) (i32.const 1)) (i32.shr_u (local.get $x) (i32.const 31))))
        (local.set $w (i32.add (local.get $w) (i32.const 1)))
        (if (local.get $have)
          (then
            (local.set $p (i32.mul (i32.xor (local.get $prev) (i32.const 0x2f)) (i32.const 0x01000193)))
            (local.set $p (i32.mul (i32.xor (local.get $p) (i32.and (local.get $h) (i32.const 0xffff))) (i32.const 0x01000193)))
            (local.set $p (i32.mul (i32.xor (local.get $p) (i32.shr_u (local.get $h) (i32.const 16))) (i32.const 0x01000193)))
            (local.set $x (i32.xor (local.get $p) (i32.shr_u (local.get $p) (i32.const 16))))
            (local.set $x (i32.mul (local.get $x) (i32.const 0x85ebca6b)))
            (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 13))))
            (i32.store (i32.add (local.get $pos) (i32.shl (local.get $w) (i32.const 2))) (local.get $start))
            (i32.store (i32.add (local.get $code) (i32.shl (local.get $w) (i32.const 2)))
              (i32.or (i32.shl (i32.and (local.get $x) (local.get $mask)) (i32.const 1)) (i32.shr_u (local.get $x) (i32.const 31))))
            (local.set $w (i32.add (local.get $w) (i32.const 1)))))
        (local.set $prev (local.get $h))
        (local.set $have (i32.const 1))
        (br $next)))
    (local.get $w))

  ;; Step 5's windows over n units: [64j, 64j + 160) but the last, which ends at n (one window when n <= 160).
  (func $windowStart (param $j i32) (param $windows i32) (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $j) (i32.sub (local.get $windows) (i32.const 1)))
      (then (i32.shl (local.get $j) (i32.const 6)))
      (else (select (i32.const 0) (i32.sub (local.get $n) (i32.const 160)) (i32.le_u (local.get $n) (i32.const 160))))))
  (func $windowEnd (param $j i32) (param $windows i32) (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $j) (i32.sub (local.get $windows) (i32.const 1)))
      (then (i32.add (i32.shl (local.get $j) (i32.const 6)) (i32.const 160)))
      (else (local.get $n))))

  ;; model.ts `slide`, for both blocks: features enter as windows reach them and leave as windows pass;
  ;; out[j] += scale * dot / sqrt(ss) per window j. Chars (`pos` = 0) hold two slots per position and
  ;; skip -1; words carry their positions in `pos`. Leaves every count at zero.
  (func (export "slide") (param $pos i32) (param $code i32) (param $len i32) (param $table i32) (param $scale f64)
    (param $n i32) (param $windows i32) (param $out i32)
    (local $j i32) (local $add i32) (local $rem i32) (local $dot f64) (local $ss i32) (local $end i32) (local $start i32)
    (local $c i32) (local $at i32) (local $v i32) (local $down i32) (local $k i32) (local $o i32) (local $chars i32)
    (local.set $chars (i32.eqz (local.get $pos)))
    (block $windowsDone
      (loop $window
        (br_if $windowsDone (i32.ge_u (local.get $j) (local.get $windows)))
        (local.set $end (call $windowEnd (local.get $j) (local.get $windows) (local.get $n)))
        (local.set $start (call $windowStart (local.get $j) (local.get $windows) (local.get $n)))
        (if (local.get $chars)
          (then
            ;; slot index bounds: 2 * position, the end capped at the stream's length
            (local.set $end (i32.shl (local.get $end) (i32.const 1)))
            (if (i32.gt_u (local.get $end) (local.get $len)) (then (local.set $end (local.get $len))))
            (local.set $start (i32.shl (local.get $start) (i32.const 1)))))
        ;; features entering: down = the sign bit
        (block $addDone
          (loop $adding
            (br_if $addDone (i32.ge_u (local.get $add) (select (local.get $end) (local.get $len) (local.get $chars))))
            (if (i32.eqz (local.get $chars))
              (then (br_if $addDone (i32.ge_s (i32.load (i32.add (local.get $pos) (i32.shl (local.get $add) (i32.const 2)))) (local.get $end)))))
            (local.set $c (i32.load (i32.add (local.get $code) (i32.shl (local.get $add) (i32.const 2)))))
            (local.set $add (i32.add (local.get $add) (i32.const 1)))
            (br_if $adding (i32.lt_s (local.get $c) (i32.const 0)))
            (local.set $at (i32.add (local.get $table) (i32.shl (i32.and (local.get $c) (i32.const -2)) (i32.const 1))))
            (local.set $v (i32.load16_s offset=2 (local.get $at)))
            (local.set $down (i32.and (local.get $c) (i32.const 1)))
            (local.set $k (i32.or (i32.shl (i32.add (local.get $v) (i32.const 482)) (i32.const 1)) (local.get $down)))
            (i32.store16 offset=2 (local.get $at) (i32.sub (i32.add (local.get $v) (i32.const 1)) (i32.shl (local.get $down) (i32.const 1))))
            (local.set $ss (i32.add (local.get $ss) (i32.load offset=81920 (i32.shl (local.get $k) (i32.const 2)))))
            (local.set $dot (f64.add (local.get $dot)
              (f64.mul (f64.convert_i32_s (i32.load16_s (local.get $at))) (f64.load offset=65536 (i32.shl (local.get $k) (i32.const 3))))))
            (br $adding)))
        ;; features leaving: the move undoes the add
        (block $remDone
          (loop $removing
            (br_if $remDone (i32.ge_u (local.get $rem) (select (local.get $start) (local.get $add) (local.get $chars))))
            (if (i32.eqz (local.get $chars))
              (then (br_if $remDone (i32.ge_s (i32.load (i32.add (local.get $pos) (i32.shl (local.get $rem) (i32.const 2)))) (local.get $start)))))
            (local.set $c (i32.load (i32.add (local.get $code) (i32.shl (local.get $rem) (i32.const 2)))))
            (local.set $rem (i32.add (local.get $rem) (i32.const 1)))
            (br_if $removing (i32.lt_s (local.get $c) (i32.const 0)))
            (local.set $at (i32.add (local.get $table) (i32.shl (i32.and (local.get $c) (i32.const -2)) (i32.const 1))))
            (local.set $v (i32.load16_s offset=2 (local.get $at)))
            (local.set $down (i32.xor (i32.and (local.get $c) (i32.const 1)) (i32.const 1)))
            (local.set $k (i32.or (i32.shl (i32.add (local.get $v) (i32.const 482)) (i32.const 1)) (local.get $down)))
            (i32.store16 offset=2 (local.get $at) (i32.sub (i32.add (local.get $v) (i32.const 1)) (i32.shl (local.get $down) (i32.const 1))))
            (local.set $ss (i32.add (local.get $ss) (i32.load offset=81920 (i32.shl (local.get $k) (i32.const 2)))))
            (local.set $dot (f64.add (local.get $dot)
              (f64.mul (f64.convert_i32_s (i32.load16_s (local.get $at))) (f64.load offset=65536 (i32.shl (local.get $k) (i32.const 3))))))
            (br $removing)))
        (if (i32.gt_s (local.get $ss) (i32.const 0))
          (then
            (local.set $o (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 3))))
            (f64.store (local.get $o)
              (f64.add (f64.load (local.get $o))
                (f64.div (f64.mul (local.get $dot) (local.get $scale)) (f64.sqrt (f64.convert_i32_s (local.get $ss))))))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $window)))
    (block $zeroDone
      (loop $zero
        (br_if $zeroDone (i32.ge_u (local.get $rem) (local.get $add)))
        (local.set $c (i32.load (i32.add (local.get $code) (i32.shl (local.get $rem) (i32.const 2)))))
        (if (i32.ge_s (local.get $c) (i32.const 0))
          (then (i32.store16 offset=2 (i32.add (local.get $table) (i32.shl (i32.and (local.get $c) (i32.const -2)) (i32.const 1))) (i32.const 0))))
        (local.set $rem (i32.add (local.get $rem) (i32.const 1)))
        (br $zero))))

  ;; The first window with the largest logit (model.ts `score`).
  (func (export "best") (param $out i32) (param $windows i32) (result i32)
    (local $j i32) (local $best i32)
    (local.set $j (i32.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $j) (local.get $windows)))
        (if (f64.gt (f64.load (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 3))))
                    (f64.load (i32.add (local.get $out) (i32.shl (local.get $best) (i32.const 3)))))
          (then (local.set $best (local.get $j))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $next)))
    (local.get $best))
)
