@echo off
rem Starts the meeting assistant after asking for the meeting's name.
rem This file stays ASCII (cmd reads a .bat in the console's code page): scripts\launcher.py prints the French.
setlocal
cd /d "%~dp0"
if not exist ".venv\Scripts\python.exe" (
  python scripts\launcher.py say not_installed 2>nul || echo Lancez d'abord scripts\install_meeting_assistant.bat pour installer l'assistant.
  pause
  exit /b 1
)
".venv\Scripts\python.exe" scripts\launcher.py named
if errorlevel 1 pause
endlocal
