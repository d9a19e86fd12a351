// Confirmation dialogs for destructive actions (naive-ui dialog). The dialog
// stays open with a spinner while the action runs and closes when it is done.
import { useI18n } from 'vue-i18n'
import { useDialog, type ButtonProps } from 'naive-ui'

export interface ConfirmOptions {
  title: string
  content: string
  /** Text of the confirming button. */
  confirmText: string
  /** Runs after the user confirmed; the dialog waits for it. */
  action: () => Promise<void>
}

export function useConfirm() {
  const dialog = useDialog()
  const { t } = useI18n()

  return function confirm(options: ConfirmOptions): void {
    dialog.warning({
      title: options.title,
      content: options.content,
      positiveText: options.confirmText,
      negativeText: t('common.cancel'),
      positiveButtonProps: { type: 'error', 'data-testid': 'confirm-ok' } as ButtonProps,
      negativeButtonProps: { 'data-testid': 'confirm-cancel' } as ButtonProps,
      autoFocus: false,
      onPositiveClick: async () => {
        await options.action()
      },
    })
  }
}
