// Messages of the Applications page (OpenID applications and protected
// apps). Merged into the app's messages by i18n/index.ts.
const en = {
  applications: {
    menu: 'Applications',
    title: 'Applications',
    tabs: { protected: 'Protected apps', oidc: 'OpenID apps' },
    roles: { user: 'User', admin: 'Administrator', super_admin: 'Super administrator' },
    protected: {
      intro:
        'Apps behind a reverse proxy (nginx, Caddy, Traefik) that asks Gatehouse on every request whether the visitor may pass. The proxy adds who signed in as X-Gatehouse-* headers.',
      readOnly: 'Only a super administrator can add, change or delete protected apps.',
      forwardAuthUrl: 'Forward-auth address',
      cookieDomain: 'Cookie domain',
      noCookieDomain: 'none: protected apps must be on Gatehouse’s own host name',
      create: 'Add protected app',
      createTitle: 'Add a protected app',
      editTitle: 'Edit {name}',
      name: 'Name',
      hosts: 'Hosts',
      hostsHelp: 'One a line, such as app.example.com; add a port only when it is not 80 or 443.',
      allowedRoles: 'Roles that may pass',
      allowedRolesHelp: 'Accounts with another role are refused (403).',
      edit: 'Edit',
      delete: 'Delete',
      deleteTitle: 'Delete {name}?',
      deleteBody: 'Its hosts will be refused to everyone until another protected app names them. This cannot be undone.',
      saved: 'Protected app {name} saved.',
      deleted: 'Protected app {name} deleted.',
      empty: 'No protected apps yet.',
      actions: 'Actions',
      setupHint: 'Proxy configurations for nginx, Caddy and Traefik are in the README, section “Forward auth”.',
    },
  },
}

const zhCN: typeof en = {
  applications: {
    menu: '应用',
    title: '应用',
    tabs: { protected: '受保护应用', oidc: 'OpenID 应用' },
    roles: { user: '用户', admin: '管理员', super_admin: '超级管理员' },
    protected: {
      intro: '位于反向代理（nginx、Caddy、Traefik）之后的应用：代理在每次请求时询问 Gatehouse 访问者能否通过，并以 X-Gatehouse-* 请求头告知应用登录者是谁。',
      readOnly: '只有超级管理员可以添加、修改或删除受保护应用。',
      forwardAuthUrl: '转发认证地址',
      cookieDomain: 'Cookie 域',
      noCookieDomain: '未设置：受保护应用必须使用 Gatehouse 自己的主机名',
      create: '添加受保护应用',
      createTitle: '添加受保护应用',
      editTitle: '编辑 {name}',
      name: '名称',
      hosts: '主机名',
      hostsHelp: '每行一个，例如 app.example.com；仅当端口不是 80 或 443 时才写端口。',
      allowedRoles: '允许通过的角色',
      allowedRolesHelp: '其他角色的账号会被拒绝（403）。',
      edit: '编辑',
      delete: '删除',
      deleteTitle: '删除 {name}？',
      deleteBody: '在其他受保护应用使用这些主机名之前，任何人访问它们都会被拒绝。此操作无法撤销。',
      saved: '已保存受保护应用 {name}。',
      deleted: '已删除受保护应用 {name}。',
      empty: '还没有受保护应用。',
      actions: '操作',
      setupHint: 'nginx、Caddy 和 Traefik 的代理配置见 README 的“Forward auth”一节。',
    },
  },
}

export const applicationsMessages = { en, 'zh-CN': zhCN }
