/**
 * A justification must say why. Placeholders ("work", "n/a", "test", "asdf" …) and text that
 * carries no information (one repeated character, keyboard runs) are refused.
 */
const PLACEHOLDERS = new Set([
  'work', 'working', 'n/a', 'na', 'none', 'nothing', 'test', 'testing', 'tests', 'asdf', 'asdfgh', 'asdfasdf',
  'qwerty', 'foo', 'bar', 'foobar', 'xxx', 'tbd', 'todo', 'stuff', 'admin', 'access', 'need access',
  'needed', 'need it', 'because', 'job', 'task', 'fix', 'please', 'pls', 'help', '.', '-', '?', 'ok',
  'yes', 'no', 'null', 'undefined', 'lorem ipsum', 'dummy', 'temp', 'misc', 'other', 'various',
]);

const KEYBOARD_RUNS = ['qwertyuiop', 'asdfghjkl', 'zxcvbnm', 'abcdefghijklmnopqrstuvwxyz', '1234567890'];

export type JustificationProblem = 'justification_required' | 'justification_too_weak';

export function checkJustification(text: string | undefined | null, required: boolean, minLength: number): JustificationProblem | null {
  const t = (text ?? '').normalize('NFKC').trim();
  if (t.length === 0) return required ? 'justification_required' : null;
  const lower = t.toLowerCase().replace(/\s+/g, ' ');
  const bare = lower.replace(/[^\p{L}\p{N}/ ]/gu, '').trim();
  if (PLACEHOLDERS.has(lower) || PLACEHOLDERS.has(bare)) return 'justification_too_weak';
  if (required && [...t].length < minLength) return 'justification_too_weak';
  const letters = lower.replace(/[^\p{L}\p{N}]/gu, '');
  if (letters.length === 0) return 'justification_too_weak';
  if (new Set(letters).size <= 2 && letters.length >= 3) return 'justification_too_weak';
  if (letters.length >= 4 && KEYBOARD_RUNS.some((run) => run.includes(letters))) return 'justification_too_weak';
  // The whole text is one placeholder repeated ("test test test").
  const words = bare.split(' ').filter(Boolean);
  if (words.length > 0 && words.every((w) => w === words[0]) && PLACEHOLDERS.has(words[0]!)) return 'justification_too_weak';
  return null;
}
