import { InvalidInputError } from '../inference.error';
import { isDecimal, parseCsvRecords, parseCsvTable } from './csv.parser';

describe('parseCsvRecords', () => {
  it('splits RFC 4180 records with quoted commas, quotes and line breaks', () => {
    const text = 'a,b\r\n"x, y","say ""hi"""\r\n"two\nlines",z\r\n';

    expect(parseCsvRecords(text)).toEqual([
      ['a', 'b'],
      ['x, y', 'say "hi"'],
      ['two\nlines', 'z'],
    ]);
  });

  it('takes LF and CR line ends, a BOM, blank lines and a missing final line end', () => {
    expect(parseCsvRecords('\ufeffa,b\n\n1,2\r3,4')).toEqual([
      ['a', 'b'],
      ['1', '2'],
      ['3', '4'],
    ]);
  });

  it('keeps empty fields, quoted or not', () => {
    expect(parseCsvRecords('a,,c\n"",x,\n')).toEqual([
      ['a', '', 'c'],
      ['', 'x', ''],
    ]);
  });

  it('returns 400 for a quoted field that never closes', () => {
    expect(() => parseCsvRecords('a\n"open\n')).toThrow(
      new InvalidInputError('CSV: the quoted field opened on line 2 never closes'),
    );
  });

  it('returns 400 for text after a closing quote', () => {
    expect(() => parseCsvRecords('"a"b,c\n')).toThrow(
      'CSV line 1: unexpected "b" after a closing quote',
    );
  });
});

describe('parseCsvRecords, edge cases of the parser', () => {
  it('names the line a quoted field opened on, after other records', () => {
    expect(() => parseCsvRecords('a\nx\n"open\nmore\n')).toThrow(
      'CSV: the quoted field opened on line 3 never closes',
    );
  });

  it('returns 400 for a quote inside an unquoted field', () => {
    expect(() => parseCsvRecords('a\nx"y\n')).toThrow(
      'CSV line 2: a quote inside an unquoted field; quote the whole field and double the quotes in it',
    );
  });
});

describe('isDecimal', () => {
  it.each(['1', '-2.5', '+.5', '5.', '1e5', '1E-5', '007'])('takes %s', (cell) => {
    expect(isDecimal(cell)).toBe(true);
  });

  it.each(['', '.', '-', '1e', 'e5', '1.2.3', '1x', ' 1', '0x10'])('refuses %j', (cell) => {
    expect(isDecimal(cell)).toBe(false);
  });

  it('reads a 1,000,000-digit run followed by x as not a number', () => {
    expect(isDecimal(`${'1'.repeat(1_000_000)}x`)).toBe(false);
  });
});

describe('parseCsvTable', () => {
  it('types each column as pandas infers it', () => {
    const text = 'n,x,flag,name,mixed\n1,1.5,True,a,1\n2,NA,false,b,x\n-3,inf,TRUE,,2\n';

    expect(parseCsvTable(text)).toEqual({
      columns: ['n', 'x', 'flag', 'name', 'mixed'],
      rows: [
        [1, 1.5, true, 'a', '1'],
        [2, null, false, 'b', 'x'],
        [-3, Infinity, true, null, '2'],
      ],
    });
  });

  it('reads numbers with exponents and signs, and -Infinity', () => {
    expect(parseCsvTable('v\n+1e3\n.5\n-infinity\n').rows).toEqual([[1000], [0.5], [-Infinity]]);
  });

  it('returns 400 for an empty body', () => {
    expect(() => parseCsvTable('\n\n')).toThrow(/the CSV body is empty/);
  });

  it('returns 400 for a row with too many or too few fields', () => {
    expect(() => parseCsvTable('a,b\n1,2\n3\n')).toThrow(
      'CSV data row 2 has 1 fields, but the header has 2',
    );
  });

  it('returns 400 for a column named twice', () => {
    expect(() => parseCsvTable('a,a\n1,2\n')).toThrow(`CSV column 'a' appears twice`);
  });
});
