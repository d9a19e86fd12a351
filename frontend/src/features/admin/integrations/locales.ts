// Messages of the Integrations page (the mail outbox). Merged into the
// app's messages by i18n/index.ts.
const en = {
  integrations: {
    menu: 'Integrations',
    title: 'Integrations',
    outbox: {
      title: 'Mail outbox',
      intro:
        'Every account email waits here until the mail server accepts it. Temporary failures are tried again with growing pauses; an email refused for good, out of attempts, or whose link expired is marked failed. The message itself is erased once an email is sent or failed.',
      readOnly: 'Only a super administrator can retry or discard emails.',
      status: 'Status',
      allStatuses: 'All',
      statuses: { queued: 'Queued', sending: 'Sending', sent: 'Sent', failed: 'Failed', discarded: 'Discarded' },
      to: 'Recipient',
      subject: 'Subject',
      attempts: 'Attempts',
      created: 'Queued at',
      next: 'Next attempt',
      error: 'Last error',
      actions: 'Actions',
      retry: 'Retry',
      discard: 'Discard',
      retried: 'The email will be sent again now.',
      discarded: 'The email was discarded.',
      empty: 'No emails.',
      refresh: 'Refresh',
      total: 'no emails | 1 email | {n} emails',
      reasons: {
        unreachable: 'The mail server could not be reached.',
        timeout: 'The mail server did not answer in time.',
        tls: 'No secure (TLS) connection could be made.',
        certificate: 'The mail server’s certificate is not trusted.',
        auth_failed: 'The mail server refused the sign-in.',
        rejected: 'The mail server refused the message or recipient.',
        not_configured: 'Mail is not configured.',
        bad_response: 'The mail server answered in an unexpected way.',
        expired: 'The link expired before the email could be sent.',
        superseded: 'A newer link was sent instead, or the link was used.',
        unreadable: 'The stored message cannot be read.',
      },
    },
  },
}

type Messages = typeof en

const zhCN: Messages = {
  integrations: {
    menu: '集成',
    title: '集成',
    outbox: {
      title: '邮件发件箱',
      intro:
        '每封账户邮件都会在此等待，直到邮件服务器接收。临时失败会以逐渐延长的间隔重试；被永久拒绝、重试次数用尽或链接已过期的邮件会标记为失败。邮件发送成功或失败后，其正文会被删除。',
      readOnly: '只有超级管理员可以重试或丢弃邮件。',
      status: '状态',
      allStatuses: '全部',
      statuses: { queued: '排队中', sending: '发送中', sent: '已发送', failed: '失败', discarded: '已丢弃' },
      to: '收件人',
      subject: '主题',
      attempts: '尝试次数',
      created: '入队时间',
      next: '下次尝试',
      error: '最近的错误',
      actions: '操作',
      retry: '重试',
      discard: '丢弃',
      retried: '该邮件将立即重新发送。',
      discarded: '该邮件已丢弃。',
      empty: '没有邮件。',
      refresh: '刷新',
      total: '没有邮件 | 1 封邮件 | {n} 封邮件',
      reasons: {
        unreachable: '无法连接邮件服务器。',
        timeout: '邮件服务器未在规定时间内响应。',
        tls: '无法建立安全（TLS）连接。',
        certificate: '邮件服务器的证书不受信任。',
        auth_failed: '邮件服务器拒绝了登录。',
        rejected: '邮件服务器拒绝了该邮件或收件人。',
        not_configured: '尚未配置邮件。',
        bad_response: '邮件服务器的响应不符合预期。',
        expired: '邮件发出前链接已过期。',
        superseded: '已改为发送更新的链接，或链接已被使用。',
        unreadable: '无法读取已保存的邮件内容。',
      },
    },
  },
}

export const integrationsMessages = { en, 'zh-CN': zhCN }
