// Allowed registration domains: what an admin types, cleaned up the way the
// server stores it (lower case, no "@", no duplicates).

const domainPattern = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/

/** Lower-cases, trims, drops a leading "@" (and "*." wildcard), splits on commas and spaces. */
export function normaliseDomains(input: readonly string[]): string[] {
  const out: string[] = []
  for (const raw of input) {
    for (const part of raw.split(/[\s,;]+/)) {
      const domain = part.trim().toLowerCase().replace(/^@/, '').replace(/^\*\./, '').replace(/\.$/, '')
      if (domain && !out.includes(domain)) out.push(domain)
    }
  }
  return out
}

/** Whether a normalised entry looks like a domain name such as example.com. */
export function isDomain(domain: string): boolean {
  return domain.length <= 253 && domainPattern.test(domain)
}

/** The entries that are not domain names (shown before saving). */
export function invalidDomains(domains: readonly string[]): string[] {
  return domains.filter((d) => !isDomain(d))
}
