/**
 * `value` without the spaces and tabs HTTP drops from around a header's value (RFC 9110 §5.5), the
 * only white space a header's value admits (pipeline/transform.ts, HEADER_VALUE). A scan from each end, not a regular expression: `[\t ]+$`
 * backtracks over every run of spaces that does not end the value, quadratic in its length, and a
 * value is trimmed before its length is checked (seconds of CPU for 100,000 spaces, which an
 * event's field or `$pad` gives).
 */
export function trimHeaderSpace(value: string): string {
  const space = (i: number) => value[i] === " " || value[i] === "\t";
  let start = 0;
  let end = value.length;
  while (start < end && space(start)) start++;
  while (end > start && space(end - 1)) end--;
  return value.slice(start, end);
}
