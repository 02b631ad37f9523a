/** Shells we print completion scripts for. */
export type Shell = 'bash' | 'zsh';

export const SHELLS: readonly Shell[] = ['bash', 'zsh'];

/**
 * The completion script for a shell. Both ask the binary itself (`--get-yargs-completions`, which yargs answers
 * from the same command definitions as --help), so completions never drift from the real flags.
 */
export function completionScript(shell: Shell, bin = 'kubectl-pgupgrade'): string {
  const fn = `_${bin.replace(/[^A-Za-z0-9_]/g, '_')}_completions`;
  if (shell === 'bash') {
    return `# bash completion for ${bin}; install: ${bin} completion bash > /etc/bash_completion.d/${bin}
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  local IFS=$'\\n'
  COMPREPLY=($(compgen -W "$(${bin} --get-yargs-completions "\${COMP_WORDS[@]:0:$((COMP_CWORD+1))}" 2>/dev/null)" -- "$cur"))
}
complete -o bashdefault -o default -F ${fn} ${bin}
`;
  }
  return `#compdef ${bin}
# zsh completion for ${bin}; install: ${bin} completion zsh > "\${fpath[1]}/_${bin}"
${fn}() {
  local -a reply
  local si=$IFS
  IFS=$'\\n' reply=($(ZSH_NAME=zsh ${bin} --get-yargs-completions "\${words[@]:0:$CURRENT}" 2>/dev/null))
  IFS=$si
  if [[ \${#reply} -gt 0 ]]; then _describe 'values' reply; else _default; fi
}
if [[ "\${zsh_eval_context[-1]}" == "loadautofunc" ]]; then ${fn} "$@"; else compdef ${fn} ${bin}; fi
`;
}
