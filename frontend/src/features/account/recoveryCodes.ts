// Recovery codes as a text file the user keeps somewhere safe.

export function recoveryCodesText(codes: readonly string[], heading: string): string {
  return [heading, '', ...codes, ''].join('\n')
}

/** Offers the codes as a .txt download. */
export function downloadRecoveryCodes(codes: readonly string[], heading: string, fileName = 'gatehouse-recovery-codes.txt'): void {
  const blob = new Blob([recoveryCodesText(codes, heading)], { type: 'text/plain;charset=utf-8' })
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = fileName
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 0)
}
