@echo off
rem Démarre l'assistant de réunion après avoir demandé le nom de la réunion.
chcp 65001 >nul
setlocal
cd /d "%~dp0"
if not exist ".venv\Scripts\python.exe" (
  echo L'assistant n'est pas encore installé : lancez d'abord scripts\install_meeting_assistant.bat
  pause
  exit /b 1
)
set "NOM="
set /p "NOM=Nom de la réunion : "
if "%NOM%"=="" (
  echo Aucun nom saisi : la réunion sera nommée automatiquement.
  ".venv\Scripts\python.exe" supervisor.py up
) else (
  ".venv\Scripts\python.exe" supervisor.py up --name "%NOM%"
)
if errorlevel 1 (
  echo L'enregistrement s'est arrêté sur une erreur. Voir le message ci-dessus.
  pause
)
endlocal
