@echo off
rem Liste les réunions enregistrées : date, nom, durée, état et dossier du compte rendu.
chcp 65001 >nul
setlocal
cd /d "%~dp0.."
if not exist ".venv\Scripts\python.exe" (
  echo L'assistant n'est pas encore installé : lancez d'abord scripts\install_meeting_assistant.bat
  pause
  exit /b 1
)
".venv\Scripts\python.exe" supervisor.py list
if errorlevel 1 echo Impossible de lister les réunions : voir le message ci-dessus.
pause
endlocal
