// CSV cells that spreadsheets will not run: a cell starting with = + - @, a tab or a carriage return is
// read as a formula by Excel, LibreOffice and Google Sheets (CSV injection), so it gets a leading single
// quote. Every CSV export of text that users or customers wrote goes through this one helper.

export function formulaSafe(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}
