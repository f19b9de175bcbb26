import { Transform } from 'class-transformer';

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** "true"/"false"/"1"/"0"/"yes"/"no"/"on"/"off"; anything else stays a string and fails @IsBoolean. */
export const ToBoolean = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) => {
    if (typeof value !== 'string') return value;
    const v = value.trim().toLowerCase();
    return TRUE.has(v) ? true : FALSE.has(v) ? false : value;
  });

/** A number from a string; a non-number becomes NaN and fails @IsNumber/@IsInt. */
export const ToNumber = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? Number(value.trim()) : value,
  );
