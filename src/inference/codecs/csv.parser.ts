import { CsvError, parse } from 'csv-parse/sync';
import { InvalidInputError } from '../inference.error';

/**
 * CSV as MLflow's scoring server reads it (`pd.read_csv`, mlflow/pyfunc/
 * scoring_server `parse_csv_input`): RFC 4180 records, a header row, blank
 * lines skipped, and each column typed the way pandas infers it — numbers when
 * every cell is numeric, booleans when every cell is True/False, text
 * otherwise; pandas' default NA markers (empty, NA, NaN, null, …) are missing
 * values (null) in any column.
 *
 * Unlike pandas with a signature, a text column of digits ("007") is read as
 * numbers (7): the codec does not see the signature. Send JSON for such data.
 */
export function parseCsvTable(text: string): { columns: string[]; rows: unknown[][] } {
  const records = parseCsvRecords(text);
  if (records.length === 0) {
    throw new InvalidInputError('the CSV body is empty: expected a header row, then data rows');
  }
  const [header, ...cells] = records;
  const seen = new Set<string>();
  for (const name of header) {
    if (seen.has(name)) throw new InvalidInputError(`CSV column '${name}' appears twice`, name);
    seen.add(name);
  }
  cells.forEach((record, r) => {
    if (record.length !== header.length) {
      throw new InvalidInputError(
        `CSV data row ${r + 1} has ${record.length} fields, but the header has ${header.length}`,
      );
    }
  });
  const rows: unknown[][] = cells.map((record) => new Array<unknown>(record.length));
  header.forEach((_, c) => {
    const kind = columnKind(cells, c);
    cells.forEach((record, r) => {
      rows[r][c] = typedCell(record[c], kind);
    });
  });
  return { columns: header, rows };
}

/** pandas' default `na_values` (pandas/_libs/parsers.pyx STR_NA_VALUES). */
const NA_VALUES: ReadonlySet<string> = new Set([
  '',
  '#N/A',
  '#N/A N/A',
  '#NA',
  '-1.#IND',
  '-1.#QNAN',
  '-NaN',
  '-nan',
  '1.#IND',
  '1.#QNAN',
  '<NA>',
  'N/A',
  'NA',
  'NULL',
  'NaN',
  'None',
  'n/a',
  'nan',
  'null',
]);

const TRUE_VALUES: ReadonlySet<string> = new Set(['True', 'TRUE', 'true']);
const FALSE_VALUES: ReadonlySet<string> = new Set(['False', 'FALSE', 'false']);
const INFINITY = /^([+-]?)(?:inf|infinity)$/i;

type ColumnKind = 'number' | 'boolean' | 'text';

function columnKind(cells: string[][], c: number): ColumnKind {
  let numbers = true;
  let booleans = true;
  for (const record of cells) {
    const cell = record[c];
    if (NA_VALUES.has(cell)) continue;
    const trimmed = cell.trim();
    if (numbers && !isDecimal(trimmed) && !INFINITY.test(trimmed)) numbers = false;
    if (booleans && !TRUE_VALUES.has(cell) && !FALSE_VALUES.has(cell)) booleans = false;
    if (!numbers && !booleans) return 'text';
  }
  return numbers ? 'number' : booleans ? 'boolean' : 'text';
}

function typedCell(cell: string, kind: ColumnKind): unknown {
  if (NA_VALUES.has(cell)) return null;
  switch (kind) {
    case 'number': {
      const infinity = INFINITY.exec(cell.trim());
      if (infinity) return infinity[1] === '-' ? -Infinity : Infinity;
      return Number(cell);
    }
    case 'boolean':
      return TRUE_VALUES.has(cell);
    case 'text':
      return cell;
  }
}

/**
 * A decimal number as pandas reads one: sign, digits with at most one point
 * (at least one digit), an optional exponent. One pass over the text; the
 * regex it replaces (`\d+\.?\d*`) backtracked quadratically on a long run of
 * digits followed by anything else.
 */
export function isDecimal(text: string): boolean {
  let i = 0;
  const n = text.length;
  if (i < n && (text[i] === '+' || text[i] === '-')) i++;
  let digits = 0;
  while (i < n && isDigit(text.charCodeAt(i))) {
    i++;
    digits++;
  }
  if (i < n && text[i] === '.') {
    i++;
    while (i < n && isDigit(text.charCodeAt(i))) {
      i++;
      digits++;
    }
  }
  if (digits === 0) return false;
  if (i < n && (text[i] === 'e' || text[i] === 'E')) {
    i++;
    if (i < n && (text[i] === '+' || text[i] === '-')) i++;
    const start = i;
    while (i < n && isDigit(text.charCodeAt(i))) i++;
    if (i === start) return false;
  }
  return i === n;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * RFC 4180 records, read by csv-parse: fields split by commas, records by
 * CRLF, LF or CR (mixed as they come); a quoted field may hold commas, line
 * breaks and doubled quotes. A leading BOM and blank lines are dropped. A
 * quote inside an unquoted field is refused (RFC 4180 §2.5: quote the field).
 */
export function parseCsvRecords(text: string): string[][] {
  try {
    const records: string[][] = parse(text, {
      bom: true,
      skip_empty_lines: true,
      relax_column_count: true,
      record_delimiter: ['\r\n', '\n', '\r'],
    });
    return records;
  } catch (error) {
    if (error instanceof CsvError) throw csvInputError(error, text);
    throw error;
  }
}

/** csv-parse's failure as a message naming the line and what is wrong there. */
function csvInputError(error: CsvError, text: string): InvalidInputError {
  // csv-parse counts UTF-8 bytes up to the start of the record it failed in.
  const { bytes } = error as CsvError & { bytes?: number };
  const start = Buffer.from(text, 'utf8')
    .subarray(0, bytes ?? 0)
    .toString('utf8').length;
  const problem = quoteProblem(text, start);
  switch (error.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return new InvalidInputError(
        `CSV: the quoted field opened on line ${problem.openedLine} never closes`,
      );
    case 'CSV_INVALID_CLOSING_QUOTE':
      return new InvalidInputError(
        `CSV line ${problem.line}: unexpected ${JSON.stringify(problem.after ?? '')} after a closing quote`,
      );
    case 'INVALID_OPENING_QUOTE':
      return new InvalidInputError(
        `CSV line ${error.lines}: a quote inside an unquoted field; quote the whole field and double the quotes in it`,
      );
    default:
      return new InvalidInputError(`CSV line ${error.lines}: ${error.message}`);
  }
}

/**
 * Where the quoting of the record starting at `start` goes wrong: the line of
 * the last quote that opened a field, and the character after a closing quote
 * that is neither a comma nor a line end. Only read once csv-parse failed.
 */
function quoteProblem(
  text: string,
  start: number,
): { openedLine: number; line: number; after?: string } {
  let line = 1;
  for (let i = 0; i < start; i++) if (isLineBreak(text, i)) line++;
  let openedLine = line;
  let fieldStart = true;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === '"' && fieldStart) {
      openedLine = line;
      for (i++; i < text.length; i++) {
        if (text[i] === '"') {
          if (text[i + 1] !== '"') break;
          i++;
        } else if (isLineBreak(text, i)) {
          line++;
        }
      }
      const after = text[i + 1];
      if (after !== undefined && after !== ',' && after !== '\n' && after !== '\r') {
        return { openedLine, line, after };
      }
      fieldStart = false;
      continue;
    }
    if (isLineBreak(text, i)) line++;
    fieldStart = c === ',' || c === '\n' || c === '\r';
  }
  return { openedLine, line };
}

/** LF, or a CR not followed by LF: where a line ends. */
function isLineBreak(text: string, i: number): boolean {
  return text[i] === '\n' || (text[i] === '\r' && text[i + 1] !== '\n');
}
