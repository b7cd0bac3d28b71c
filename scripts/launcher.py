"""What the Windows launchers (.bat) say, in French, and the meeting they start.

The .bat files stay ASCII: cmd decodes a batch file with the console's code page (as UTF-8 only
after `chcp 65001` on Windows, never under Wine), while Python writes to a console in Unicode
whatever its code page. Standard library only at the top: `say` also runs with the Python the user
installed, before `.venv` exists.

Usage: python scripts\\launcher.py say KEY | named | quick
"""

from __future__ import annotations

import sys

MESSAGES = {
    "not_installed": "L'assistant n'est pas encore installé : lancez d'abord scripts\\install_meeting_assistant.bat",
    "creating_venv": "Création de l'environnement virtuel .venv ...",
    "venv_failed": "Échec de la création de l'environnement virtuel.",
    "installing": "Installation des dépendances, des modèles Whisper et du modèle de langue local "
                  "(1,3 Go, quelques minutes) ...",
    "install_failed": "Échec de l'installation. Vérifiez la connexion réseau puis relancez ce script.",
    "checking": "Vérification des modèles ...",
    "llm_incomplete": "Le modèle de langue local est incomplet : relancez ce script.",
    "installed": "Installation terminée. Double-cliquez sur start_bot_assistant_reunion.bat pour enregistrer "
                 "une réunion.",
    "list_failed": "Impossible de lister les réunions : voir le message ci-dessus.",
}
NAME_PROMPT = "Nom de la réunion : "
NO_NAME = "Aucun nom saisi : la réunion sera nommée automatiquement."
RECORDING = "Enregistrement en cours. Appuyez sur q pour arrêter et produire le compte rendu."
FAILED = "L'enregistrement s'est arrêté sur une erreur. Voir le message ci-dessus."


def up(*args: str) -> int:
    """`supervisor.py up ARGS` in this process (Ctrl+C and `q` reach the supervisor itself); its exit code."""
    from stages.cli import main

    sys.argv = ["supervisor.py", "up", *args]
    try:
        main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def run(verb: str, key: str = "") -> int:
    if verb == "say":
        print(MESSAGES[key], flush=True)
        return 0
    if verb == "named":
        name = input(NAME_PROMPT).strip()
        if not name:
            print(NO_NAME, flush=True)
        code = up("--name", name) if name else up()
    elif verb == "quick":
        print(RECORDING, flush=True)
        code = up()
    else:
        print(__doc__, file=sys.stderr)
        return 2
    if code:
        print(FAILED, flush=True)
    return code


if __name__ == "__main__":
    sys.exit(run(*sys.argv[1:3]))
