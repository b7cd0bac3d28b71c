@echo off
rem Démarre l'assistant tout de suite ; la réunion est nommée Reunion_AAAA-MM-JJ_HH-MM.
chcp 65001 >nul
setlocal
cd /d "%~dp0"
if not exist ".venv\Scripts\python.exe" (
  echo L'assistant n'est pas encore installé : lancez d'abord scripts\install_meeting_assistant.bat
  pause
  exit /b 1
)
echo Enregistrement en cours. Appuyez sur q pour arrêter et produire le compte rendu.
".venv\Scripts\python.exe" supervisor.py up
if errorlevel 1 (
  echo L'enregistrement s'est arrêté sur une erreur. Voir le message ci-dessus.
  pause
)
endlocal
