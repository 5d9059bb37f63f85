/**
 * Letters that render like ASCII letters, for detection text only. NFKC already folds fullwidth forms,
 * mathematical alphanumerics, circled and superscript letters, so this table covers what NFKC keeps:
 * Cyrillic and Greek look-alikes, a few IPA letters and Latin small capitals. Every entry maps one
 * UTF-16 unit to one ASCII unit, so applying it never moves an offset.
 */

// Pairs of <look-alike><ASCII>, grouped by script. Written for this project from the glyph shapes.
const PAIRS =
  // Cyrillic lower case
  'аaвbеeһhіiјjкkӏlмmоoрpԛqѕsсcтtԝwхxуyԁdɡgүy' +
  // Cyrillic upper case
  'АAВBЕEНHІIЈJКKМMОOРPЅSСCТTХXУYԌGԚQԜWӀI' +
  // Greek
  'ΑAΒBΕEΖZΗHΙIΚKΜMΝNΟOΡPΤTΥYΧXαaιiκkνvοoρpυuχxγyϳj' +
  // Latin IPA and dotless letters
  'ıiİIȷjɑaɩiʋuɪiʏyɴnʀrɢgʜhʟl' +
  // Latin small capitals
  'ᴀaʙbᴄcᴅdᴇeꜰfᴊjᴋkᴍmᴏoᴘpꜱsᴛtᴜuᴠvᴡwᴢz' +
  // Armenian
  'օoսuցgհhոnԼLՏS'

// unit → ASCII (0 = not a look-alike); one load per unit on the hot path.
const TABLE = (() => {
  const table = new Uint8Array(0x10000)
  for (let i = 0; i + 1 < PAIRS.length; i += 2) table[PAIRS.charCodeAt(i)] = PAIRS.charCodeAt(i + 1)
  return table
})()

/** The ASCII letter a UTF-16 unit looks like, or `undefined` when it is not a known look-alike. */
export function confusableToAscii(unit: number): number | undefined {
  return unit < 0x80 ? undefined : TABLE[unit] || undefined
}

/**
 * Maps look-alikes to ASCII inside words that also contain ASCII letters (`іgnore`) or consist only of
 * look-alikes (`рау`); words of real Cyrillic or Greek (`привет`) are left for rules in those
 * languages. Same length out as in.
 * @example mapConfusableWords('іgnore привет') // 'ignore привет'
 */
export function mapConfusableWords(text: string): string {
  let out: Uint16Array | null = null
  for (let i = 0; i < text.length; i++) {
    if (TABLE[text.charCodeAt(i)] === 0 || text.charCodeAt(i) < 0x80) continue
    let a = i
    let b = i + 1
    while (a > 0 && isWordUnit(text.charCodeAt(a - 1))) a--
    while (b < text.length && isWordUnit(text.charCodeAt(b))) b++
    if (shouldMap(text, a, b)) {
      if (out === null) {
        out = new Uint16Array(text.length)
        for (let k = 0; k < text.length; k++) out[k] = text.charCodeAt(k)
      }
      for (let k = a; k < b; k++) out[k] = TABLE[out[k] as number] || (out[k] as number)
    }
    i = b
  }
  return out === null ? text : new TextDecoder('utf-16le', { fatal: false, ignoreBOM: true }).decode(out)
}

function shouldMap(text: string, a: number, b: number): boolean {
  let other = false
  for (let k = a; k < b; k++) {
    const u = text.charCodeAt(k)
    if (u < 0x80) return true
    if (TABLE[u] === 0) other = true
  }
  return !other
}

/**
 * Letters of the scripts the table covers (Latin, IPA, Greek, Cyrillic, Armenian, small capitals)
 * and their combining marks. Anything else (spaces, punctuation, digits, other scripts) ends a word.
 */
function isWordUnit(u: number): boolean {
  if (u < 0x80) return (u >= 0x41 && u <= 0x5a) || (u >= 0x61 && u <= 0x7a)
  return (u >= 0xc0 && u < 0x590 && u !== 0xd7 && u !== 0xf7 && u !== 0x37e && u !== 0x387 && u !== 0x589) ||
    (u >= 0x1d00 && u < 0x1e00) || (u >= 0xa720 && u < 0xa800)
}
