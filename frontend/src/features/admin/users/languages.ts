// Language choices for accounts (BCP 47). The list offers the console's own
// languages plus a few common ones; any other tag the account has is kept.
const common = ['en', 'zh-CN', 'zh-TW', 'ja', 'ko', 'de', 'fr', 'es', 'pt-BR', 'ru']

export function languageOptions(current?: string): { value: string; label: string }[] {
  const list = current && !common.includes(current) ? [...common, current] : common
  return list.map((tag) => {
    let name = tag
    try {
      name = new Intl.DisplayNames([tag], { type: 'language' }).of(tag) ?? tag
    } catch {
      // Unknown tag: show it as it is.
    }
    return { value: tag, label: name === tag ? tag : `${name} (${tag})` }
  })
}
