@echo off
rem Starts the meeting assistant at once; the meeting is named Reunion_YYYY-MM-DD_HH-MM.
rem This file stays ASCII (cmd reads a .bat in the console's code page): scripts\launcher.py prints the French.
setlocal
cd /d "%~dp0"
if not exist ".venv\Scripts\python.exe" (
  python scripts\launcher.py say not_installed 2>nul || echo Lancez d'abord scripts\install_meeting_assistant.bat pour installer l'assistant.
  pause
  exit /b 1
)
".venv\Scripts\python.exe" scripts\launcher.py quick
if errorlevel 1 pause
endlocal
