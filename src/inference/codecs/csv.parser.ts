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
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INFINITY = /^([+-]?)(?:inf|infinity)$/i;

type ColumnKind = 'number' | 'boolean' | 'text';

function columnKind(cells: string[][], c: number): ColumnKind {
  let numbers = true;
  let booleans = true;
  for (const record of cells) {
    const cell = record[c];
    if (NA_VALUES.has(cell)) continue;
    const trimmed = cell.trim();
    if (numbers && !NUMBER.test(trimmed) && !INFINITY.test(trimmed)) numbers = false;
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
 * RFC 4180 records: fields split by commas, records by CRLF, LF or CR; a
 * quoted field may hold commas, line breaks and doubled quotes. A leading BOM
 * and blank lines are dropped.
 */
export function parseCsvRecords(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  /** Nothing of the current field read yet: a quote here opens a quoted field. */
  let fieldStart = true;
  /** The current line holds something (a comma, a quoted field): it is not blank. */
  let hasContent = false;
  let line = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;

  while (i < text.length) {
    const c = text[i];
    if (c === '"' && fieldStart) {
      const opened = line;
      i++;
      for (;;) {
        if (i >= text.length) {
          throw new InvalidInputError(
            `CSV: the quoted field opened on line ${opened} never closes`,
          );
        }
        const q = text[i];
        if (q === '"') {
          if (text[i + 1] !== '"') break;
          field += '"';
          i += 2;
          continue;
        }
        if (q === '\n' || (q === '\r' && text[i + 1] !== '\n')) line++;
        field += q;
        i++;
      }
      i++;
      fieldStart = false;
      hasContent = true;
      if (i < text.length && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
        throw new InvalidInputError(
          `CSV line ${line}: unexpected ${JSON.stringify(text[i])} after a closing quote`,
        );
      }
    } else if (c === ',') {
      record.push(field);
      field = '';
      fieldStart = true;
      hasContent = true;
      i++;
    } else if (c === '\r' || c === '\n') {
      if (hasContent || field.length > 0) {
        record.push(field);
        records.push(record);
      }
      record = [];
      field = '';
      fieldStart = true;
      hasContent = false;
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
    } else {
      field += c;
      fieldStart = false;
      i++;
    }
  }
  if (hasContent || field.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records;
}
