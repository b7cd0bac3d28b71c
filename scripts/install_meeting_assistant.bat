@echo off
rem Installe l'assistant de réunion : environnement virtuel .venv, dépendances et modèles Whisper hors ligne.
chcp 65001 >nul
setlocal
cd /d "%~dp0.."
set "PY=python"
where py >nul 2>nul && set "PY=py -3"
%PY% --version >nul 2>nul
if errorlevel 1 (
  echo Python 3.11 ou plus récent est introuvable. Installez-le depuis python.org puis relancez ce script.
  pause
  exit /b 1
)
if not exist ".venv\Scripts\python.exe" (
  echo Création de l'environnement virtuel .venv ...
  %PY% -m venv .venv
  if errorlevel 1 (
    echo Échec de la création de l'environnement virtuel.
    pause
    exit /b 1
  )
)
echo Installation des dépendances (quelques minutes) ...
".venv\Scripts\python.exe" -m pip install --upgrade pip
".venv\Scripts\python.exe" -m pip install -e ".[models]"
if errorlevel 1 (
  echo Échec de l'installation. Vérifiez la connexion réseau puis relancez ce script.
  pause
  exit /b 1
)
".venv\Scripts\python.exe" supervisor.py --help >nul
echo Installation terminée. Double-cliquez sur start_bot_assistant_reunion.bat pour enregistrer une réunion.
pause
endlocal
