// The password-policy hint's messages in both languages (PasswordPolicyHint,
// passwordPolicy.ts). Data only: the build compiles it with the other messages
// (src/i18n/messages.ts).
export const passwordPolicyMessages = {
  en: {
    passwordPolicy: {
      label: 'Password rules',
      length: 'From {min} to {max} characters.',
      common: 'Not one of the most commonly used passwords.',
      personal: 'Not containing the username, the email address or the display name.',
      passphrase: 'No other rules: a few unrelated words make a strong password.',
    },
  },
  'zh-CN': {
    passwordPolicy: {
      label: '密码规则',
      length: '长度为 {min} 到 {max} 个字符。',
      common: '不能是最常用的密码之一。',
      personal: '不能包含用户名、邮箱地址或显示名称。',
      passphrase: '没有其他规则：几个不相关的词语就能组成一个强密码。',
    },
  },
}
