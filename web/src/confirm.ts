import { view } from "./view.js";

/**
 * Asks the person to confirm an action in a modal dialog (the browser's
 * `<dialog>`: focus moves in and stays in, Escape cancels, focus returns
 * to the button that opened it). Resolves true when they confirm.
 */
export function confirmAction(opts: {
  title: string;
  text: string;
  confirm: string;
}): Promise<boolean> {
  const dialog = view.confirmDialog;
  view.confirmTitle.textContent = opts.title;
  view.confirmText.textContent = opts.text;
  view.confirmOk.textContent = opts.confirm;
  return new Promise((resolve) => {
    const finish = (confirmed: boolean) => {
      view.confirmOk.removeEventListener("click", onOk);
      view.confirmCancel.removeEventListener("click", onCancel);
      dialog.removeEventListener("close", onClose);
      if (dialog.open) dialog.close();
      resolve(confirmed);
    };
    const onOk = () => finish(true);
    const onCancel = () => finish(false);
    // Escape, or the dialog closed by anything else.
    const onClose = () => finish(false);
    view.confirmOk.addEventListener("click", onOk);
    view.confirmCancel.addEventListener("click", onCancel);
    dialog.addEventListener("close", onClose);
    dialog.showModal();
    // The safe choice has the focus: Enter or Space by mistake changes nothing.
    view.confirmCancel.focus();
  });
}

/** Closes an open confirmation as cancelled (the call ended under it). */
export function cancelConfirmation(): void {
  if (view.confirmDialog.open) view.confirmDialog.close();
}
